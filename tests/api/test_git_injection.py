"""Git argument injection: what a user types never reaches git as an option.

Each attack names a command that would create a marker file; the test checks the request is
refused with a 4xx that names the field, and that the marker never appears.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import Server
from tests.gitrepos import make_repo
from wharf.sdk import Client, InvalidRequestError


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A served repository, and the server's working folder a clone of it: ``git ls-remote``
    with no repository argument would list the clone's ``origin``."""
    url = make_repo(tmp_path / "model", {"requirements.txt": "\n", "app.py": "print(1)\n"})
    subprocess.run(["git", "clone", "--quiet", url, str(tmp_path / "clone")], check=True)
    monkeypatch.chdir(tmp_path / "clone")
    return url


def test_a_git_url_that_is_an_option_is_refused_and_never_runs(
    admin: Client, checkout: str, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned-by-url"
    with pytest.raises(InvalidRequestError) as caught:
        admin.apps.create(f"--upload-pack=touch {marker}", name="model")
    assert not marker.exists()
    assert caught.value.status == 422
    assert caught.value.problem["errors"][0]["field"] == "git"
    assert "starts with '-'" in caught.value.detail
    assert admin.apps.list() == []


def test_an_ext_transport_url_is_refused(admin: Client, tmp_path: Path) -> None:
    marker = tmp_path / "pwned-by-ext"
    for url in (f"ext::sh -c touch% {marker}", "ext::sh", f"fd::3,{marker}"):
        with pytest.raises(InvalidRequestError, match="is not accepted") as caught:
            admin.apps.create(url, name="model")
        assert caught.value.problem["errors"][0]["field"] == "git"
    assert not marker.exists()


def test_a_build_commit_that_is_an_option_is_refused_and_never_runs(
    server: Server, admin: Client, checkout: str, tmp_path: Path
) -> None:
    admin.apps.create(checkout, name="model")
    admin.builds.wait("model", 1, timeout=120)
    marker = tmp_path / "pwned-by-commit"
    for commit in (f"--upload-pack=touch {marker}", "-c", "HEAD~1", "a b"):
        answer = server.http.post(
            "/api/v1/workspaces/default/apps/model/builds",
            json={"commit": commit},
            headers={"Authorization": f"Bearer {server.admin_token}"},
        )
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert problem["errors"][0]["field"] == "commit"
        assert "not a commit SHA or a ref name" in problem["detail"]
    assert [b.number for b in admin.builds.list("model")] == [1]
    assert not marker.exists()

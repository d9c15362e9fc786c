"""Private repositories: a git server behind HTTP basic auth, an app with a source secret.

The build reads the repository with the secret, and the secret shows up nowhere: not in the
build log, not in an API response, not in any process's command line while git runs, and
not in any file under the data dir (the store keeps it encrypted).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import Server
from tests.gitrepos import git, make_repo
from tests.gitserver import private_git_server
from tests.secretsearch import CommandLines, files_under, find_secrets
from wharf.sdk import Client, ConflictError, InvalidRequestError, NotFoundError
from wharf.services import builds
from wharf.states import BuildPhase
from wharf.store.models import Build
from wharf.workers.builds import run_build

TOKEN = "ghp_wharfTestToken0123456789abcdefXYZ"


@pytest.fixture
def bare_root(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    make_repo(work, {"requirements.txt": "\n", "app.py": "print('private')\n"}, branch="main")
    root = tmp_path / "served"
    root.mkdir()
    subprocess.run(
        ["git", "clone", "--quiet", "--bare", str(work), str(root / "model.git")], check=True
    )
    git(root / "model.git", "symbolic-ref", "HEAD", "refs/heads/main")
    return root


def test_a_private_repository_builds_with_a_source_secret_that_never_shows(
    server: Server,
    admin: Client,
    bare_root: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.platform.build_runner.stop()  # the test runs the build itself, to watch it
    caplog.set_level("DEBUG")
    # git's credentials folders go to a temporary folder of this test's own: the machine's
    # /tmp has other runs' folders come and go.
    own_tmp = tmp_path / "tmp"
    own_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(own_tmp))
    # Command lines are sampled all along, and once more at each request to the git server,
    # while the git that sent it (ls-remote at create, fetch in the build) waits on the answer.
    lines = CommandLines()
    folders_while_git_ran: set[str] = set()

    def at_each_git_request() -> None:
        lines.sample()
        folders_while_git_ran.update(path.name for path in own_tmp.glob("wharf-git-*"))

    serving = private_git_server(bare_root, "deployer", TOKEN, on_request=at_each_git_request)
    with lines, serving as git_server:
        url = f"{git_server.url}/model.git"

        with pytest.raises(InvalidRequestError, match="cannot read the git repository"):
            admin.apps.create(url, name="model")
        assert admin.apps.list() == []

        created = admin.source_secrets.create("deploy-key", username="deployer", password=TOKEN)
        assert (created.type, created.fields) == ("basic-auth", ["password", "username"])
        app = admin.apps.create(url, name="model", source_secret="deploy-key")
        assert app.ref == "main"
        # The test's git server speaks plain http: the password crosses in clear, and Wharf
        # says so at create and in the build log.
        assert len(app.warnings) == 1
        assert "plain http" in app.warnings[0]
        assert admin.apps.get("model").warnings == []

        with server.platform.transaction() as session:
            claimed = builds.claim_next_build(session)
            assert claimed is not None
            build_id = claimed.id
        run_build(server.platform, build_id)
        with server.platform.transaction() as session:
            build = session.get(Build, build_id)
            assert build is not None
            assert build.phase == BuildPhase.COMPLETE, build.message
        assert any(status == 401 for _, _, status in git_server.requests)
        assert any(status == 200 for _, _, status in git_server.requests)

    for step in ("ls-remote", "fetch"):
        assert any(step in line and "model.git" in line for line in lines.seen), f"no git {step}"
    assert find_secrets({"git password": TOKEN}, texts={"ps": lines.seen}) == []
    log = builds.build_log_path(server.platform.settings, "default", "model", 1).read_text()
    assert "checked out" in log
    assert "plain http: the source secret's password is sent unencrypted" in log
    assert TOKEN not in log
    responses = [
        admin.apps.get("model").model_dump_json(),
        json.dumps([s.model_dump(mode="json") for s in admin.source_secrets.list()]),
        admin.source_secrets.get("deploy-key").model_dump_json(),
        server.http.get("/api/v1/openapi.json").text,
    ]
    assert not [r for r in responses if TOKEN in r]
    assert TOKEN not in caplog.text
    data_dir = server.platform.settings.data_dir
    assert find_secrets({"git password": TOKEN}, files=files_under(data_dir)) == []
    # git's credentials folder was there while git ran, and is gone once git is done.
    assert folders_while_git_ran
    assert list(own_tmp.glob("wharf-git-*")) == []


def test_source_secrets_are_checked_and_kept_while_apps_use_them(
    server: Server, admin: Client, tmp_path: Path
) -> None:
    server.platform.build_runner.stop()
    with pytest.raises(InvalidRequestError, match=r"password .*or an SSH private key"):
        admin.source_secrets.create("empty")
    with pytest.raises(InvalidRequestError, match="does not look like one"):
        admin.source_secrets.create("key", ssh_private_key="not a key")
    with pytest.raises(InvalidRequestError, match="not both"):
        admin.source_secrets.create(
            "both", password="x", ssh_private_key="-----BEGIN OPENSSH PRIVATE KEY-----\n..."
        )
    ssh = admin.source_secrets.create(
        "ssh-key",
        ssh_private_key=(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----"
        ),
        known_hosts="git.example.org ssh-ed25519 AAAAC3Nza",
    )
    assert (ssh.type, ssh.fields) == ("ssh", ["known_hosts", "ssh_private_key"])
    with pytest.raises(ConflictError):
        admin.source_secrets.create("ssh-key", password="x")

    url = make_repo(tmp_path / "public", {"requirements.txt": "\n"})
    with pytest.raises(NotFoundError, match="source secret 'nope' does not exist"):
        admin.apps.create(url, name="model", source_secret="nope")
    with pytest.raises(InvalidRequestError, match="holds a password"):
        admin.apps.create("https://user:hunter2@127.0.0.1:9/x.git", name="leaky")

    token = admin.source_secrets.create("token", password="t0ken-value")
    admin.apps.create(url, name="model", source_secret="token")
    assert admin.source_secrets.get("token").used_by == ["model"]
    with pytest.raises(ConflictError, match="used by app"):
        admin.source_secrets.delete("token")
    admin.apps.delete("model")
    admin.source_secrets.delete(token.name)
    assert [s.name for s in admin.source_secrets.list()] == ["ssh-key"]

    reader = server.client(server.user_with_role("rita", "reader"))
    assert [s.name for s in reader.source_secrets.list()] == ["ssh-key"]


def test_a_shared_server_can_refuse_repositories_on_its_own_disk(
    server: Server, admin: Client, tmp_path: Path
) -> None:
    url = make_repo(tmp_path / "local", {"requirements.txt": "\n"})
    server.platform.settings.allow_local_git = False
    for local in (url, str(tmp_path / "local")):
        with pytest.raises(InvalidRequestError, match="WHARF_ALLOW_LOCAL_GIT is off"):
            admin.apps.create(local, name="local")
    assert admin.apps.list() == []

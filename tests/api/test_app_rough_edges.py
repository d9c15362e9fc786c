"""What a new user hit creating apps: git's own reason for a wrong URL, and a context dir
that does not exist refused at create with the folders that do."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Server
from tests.gitrepos import make_repo
from wharf.sdk import Client, InvalidRequestError


def test_a_wrong_git_url_says_what_git_said(admin: Client, tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        admin.apps.create((tmp_path / "nowhere").as_uri())
    message = str(caught.value)
    assert "does not appear to be a git repository" in message
    assert "the repository exists" not in message


def test_a_missing_context_dir_is_refused_at_create_naming_the_folders(
    server: Server, admin: Client, tmp_path: Path
) -> None:
    server.platform.build_runner.stop()
    repo = tmp_path / "mono"
    make_repo(
        repo,
        {
            "README.md": "mono\n",
            "models/churn/requirements.txt": "\n",
            "models/heart/requirements.txt": "\n",
            "docs/index.md": "\n",
        },
    )
    with pytest.raises(InvalidRequestError) as caught:
        admin.apps.create(repo.as_uri(), name="churn", context_dir="model/churn")
    assert "'model/churn' does not exist" in str(caught.value)
    assert "docs, models" in str(caught.value)
    with pytest.raises(InvalidRequestError, match="models/churn, models/heart"):
        admin.apps.create(repo.as_uri(), name="churn", context_dir="models/chrun")
    assert admin.apps.list() == []

    created = admin.apps.create(repo.as_uri(), name="churn", context_dir="/models/churn/")
    assert created.context_dir == "models/churn"
    with pytest.raises(InvalidRequestError, match="'models/none' does not exist"):
        admin.apps.update("churn", context_dir="models/none")
    assert admin.apps.update("churn", context_dir="models/heart").next_build

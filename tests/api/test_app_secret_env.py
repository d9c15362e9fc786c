"""Apps' secret env through the API: write-only, encrypted at rest, names shown to every role
(finding 7). The end-to-end run, with a replica that reads the value from its environment,
is tests/e2e/test_secrets_search.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Server
from tests.gitrepos import make_repo
from wharf.sdk import Client, InvalidRequestError
from wharf.services import apps, workspaces

VALUE = "sk-live-0123456789abcdefSECRET"


@pytest.fixture
def repo(tmp_path: Path) -> str:
    return make_repo(tmp_path / "model", {"requirements.txt": "\n", "app.py": "print(1)\n"})


def test_secret_env_is_write_only_and_encrypted(server: Server, admin: Client, repo: str) -> None:
    server.platform.build_runner.stop()  # the build is not what this test looks at
    created = admin.apps.create(
        repo, name="model", env={"MODE": "plain"}, secret_env={"API_KEY": VALUE, "B": "2"}
    )
    assert created.secret_env == ["API_KEY", "B"]
    assert created.env == {"MODE": "plain"}
    shown = [created.model_dump_json()]
    for role in ("reader", "contributor"):
        with server.client(server.user_with_role(f"u-{role}", role)) as client:
            app = client.apps.get("model")
            assert (app.secret_env, app.env) == (["API_KEY", "B"], {"MODE": "plain"})
            shown += [app.model_dump_json(), client.apps.list()[0].model_dump_json()]
    assert not [text for text in shown if VALUE in text]

    with server.platform.transaction() as session:
        stored = apps.read_app(session, workspaces.read_workspace(session, "default"), "model")
        assert stored.secret_env is not None
        assert VALUE not in stored.secret_env
        assert VALUE not in str(stored.runtime_env)
        # Only the replicas' environment gets the value back.
        assert apps.open_secret_env(server.platform.secrets, stored) == {
            "API_KEY": VALUE,
            "B": "2",
        }
    for path in server.platform.settings.data_dir.rglob("*"):
        assert not path.is_file() or VALUE.encode() not in path.read_bytes(), path


def test_a_variable_is_plain_or_secret_not_both(admin: Client, repo: str) -> None:
    with pytest.raises(InvalidRequestError, match="API_KEY is in both env and secret env"):
        admin.apps.create(repo, name="model", env={"API_KEY": "a"}, secret_env={"API_KEY": "b"})
    with pytest.raises(InvalidRequestError) as caught:
        admin.apps.create(repo, name="model", secret_env={"1BAD": VALUE})
    assert VALUE not in caught.value.detail
    assert admin.apps.list() == []

"""Import from Git, Your tokens and Source secrets: forms, the detected builder, errors next
to their field, and what a reader may not do."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import Server
from tests.console.browsing import csrf_token, signed_in
from tests.gitrepos import make_repo
from wharf.store.models import SourceSecret, Token


@pytest.fixture
def repo(server: Server, tmp_path: Path) -> str:
    server.platform.build_runner.stop()
    url = make_repo(
        tmp_path / "Heart-Model",
        {"service/requirements.txt": "\n", "service/wsgi.py": "application = None\n"},
    )
    return url


def send_import(browser: httpx.Client, repo: str, **fields: str) -> httpx.Response:
    """Open the import form and send it for ``repo``'s ``service`` folder with ``fields``."""
    token = csrf_token(browser.get("/w/default/import").text)
    data = {"csrf_token": token, "git": repo, "context_dir": "service", "replicas": "1"}
    return browser.post("/w/default/import", data={**data, **fields})


def test_import_shows_the_detected_builder_before_create(server: Server, repo: str) -> None:
    with signed_in(server, "ann", "contributor") as browser:
        form = browser.get("/w/default/import")
        assert form.status_code == 200
        token = csrf_token(form.text)
        found = browser.post(
            "/w/default/import/detect",
            data={"git": repo, "context_dir": "service"},
            headers={"HX-Request": "true", "X-CSRF-Token": token},
        )
        missing = browser.post(
            "/w/default/import/detect",
            data={"git": repo},
            headers={"HX-Request": "true", "X-CSRF-Token": token},
        )
    assert "Builder: Python" in found.text
    assert "requirements.txt" in found.text
    assert "<code>heart-model</code>" in found.text
    assert "<code>trunk</code>" in found.text
    assert "cannot tell how to build the top folder" in missing.text


def test_import_creates_the_app_and_starts_build_1(server: Server, repo: str) -> None:
    with signed_in(server, "ann", "contributor") as browser:
        created = send_import(
            browser,
            repo,
            group="scoring",
            env="MODE=fast\n",
            replicas="2",
            memory="256Mi",
            labels="team=risk, tier=api",
            route="on",
            path="/predict",
        )
        assert created.status_code == 303
        assert created.headers["location"] == "/w/default/topology?selected=heart-model"
        topology = browser.get(created.headers["location"])
    assert 'hx-get="/w/default/topology/panel/heart-model" hx-trigger="load"' in topology.text
    with server.client() as admin:
        app = admin.apps.get("heart-model")
        assert [b.number for b in admin.builds.list("heart-model")] == [1]
    assert app.context_dir == "service"
    assert app.group == "scoring"
    assert app.env == {"MODE": "fast"}
    assert app.replicas == 2
    assert app.memory == "256Mi"
    assert app.labels == {"team": "risk", "tier": "api"}
    assert app.route.path == "/predict"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"git": "not a url"}, "git", "git"),
        ({"context_dir": "nowhere"}, "context_dir", "does not exist"),
        ({"ref": "no-such-branch"}, "ref", "does not exist"),
        ({"replicas": "many"}, "replicas", "whole number"),
        ({"memory": "lots"}, "memory", "memory"),
        ({"env": "1X=2"}, "env", "not valid"),
        ({"name": "Not_A_Name"}, "name", "name"),
    ],
)
def test_import_errors_are_shown_next_to_their_field(
    server: Server, repo: str, fields: dict[str, str], field: str, message: str
) -> None:
    with signed_in(server, "ann", "contributor") as browser:
        answer = send_import(browser, repo, **fields)
    assert 400 <= answer.status_code < 500
    assert f'id="e-{field}"' in answer.text, answer.text
    error = answer.text.split(f'id="e-{field}"', 1)[1].split("</p>", 1)[0]
    assert message in error
    with server.client() as admin:
        assert admin.apps.list() == []


def test_import_can_create_the_source_secret_it_needs(server: Server, repo: str) -> None:
    with signed_in(server, "ann", "owner") as browser:
        created = send_import(
            browser,
            repo,
            source_secret="__new__",
            new_secret_name="git-creds",
            new_secret_username="bot",
            new_secret_password="s3cret-token-value",
        )
        assert created.status_code == 303
        page = browser.get("/w/default/source-secrets")
    assert "git-creds" in page.text
    assert "heart-model" in page.text  # used by
    assert "s3cret-token-value" not in page.text


def test_a_reader_cannot_open_or_send_the_import_form(server: Server, repo: str) -> None:
    with signed_in(server, "rita", "reader") as browser:
        assert browser.get("/w/default/import").status_code == 403
        token = csrf_token(browser.get("/w/default/topology").text)
        assert (
            "Import from Git</a>"
            not in browser.get("/w/default/topology").text.split("<main", 1)[1]
        )
        refused = browser.post("/w/default/import", data={"csrf_token": token, "git": repo})
    assert refused.status_code == 403


def test_your_tokens_are_created_once_shown_and_revoked(server: Server) -> None:
    with signed_in(server, "ann", "reader") as browser:
        page = browser.get("/tokens")
        token = csrf_token(page.text)
        created = browser.post(
            "/tokens", data={"csrf_token": token, "name": "laptop", "expires_in": "30d"}
        )
        assert created.status_code == 201
        secret = created.text.split('id="new-token" value="', 1)[1].split('"', 1)[0]
        assert secret.startswith("wharf_")
        again = browser.get("/tokens")
        assert secret not in again.text
        assert "laptop" in again.text
        wrong = browser.post(
            "/tokens", data={"csrf_token": token, "name": "x", "expires_in": "soon"}
        )
        assert wrong.status_code == 422
        assert 'id="e-expires_in"' in wrong.text
        with server.platform.transaction() as session:
            token_id = session.query(Token).filter_by(name="laptop").one().id
        revoked = browser.post(f"/tokens/{token_id}/revoke", data={"csrf_token": token})
        assert revoked.status_code == 303
        assert ">Revoked<" in browser.get("/tokens").text
    with server.client(secret) as laptop, pytest.raises(Exception, match="revoked"):
        laptop.users.me()


def test_source_secrets_show_names_and_users_never_values(server: Server) -> None:
    with signed_in(server, "ann", "owner") as browser:
        token = csrf_token(browser.get("/w/default/source-secrets").text)
        made = browser.post(
            "/w/default/source-secrets",
            data={"csrf_token": token, "name": "creds", "username": "bot", "password": "hunter22"},
        )
        assert made.status_code == 303
        wrong = browser.post(
            "/w/default/source-secrets", data={"csrf_token": token, "name": "empty"}
        )
        assert wrong.status_code == 422
        assert 'id="e-password"' in wrong.text
        page = browser.get("/w/default/source-secrets")
    assert "creds" in page.text
    assert "hunter22" not in page.text
    with signed_in(server, "rita", "reader") as reader:
        listed = reader.get("/w/default/source-secrets")
        assert "creds" in listed.text
        assert "Create a source secret" not in listed.text
        refused = reader.post(
            "/w/default/source-secrets/creds/delete", data={"csrf_token": csrf_token(listed.text)}
        )
    assert refused.status_code == 403
    with server.platform.transaction() as session:
        assert session.query(SourceSecret).count() == 1

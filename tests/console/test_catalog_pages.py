"""Data assets, models, datastores, members and roles in the console: what each role sees,
what it may change, and what the server refuses whatever the page showed."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.batchfiles import create_data_asset, upload_folder, write_code, write_csv_files
from tests.conftest import Server
from tests.console.browsing import create_user, csrf_token, signed_in
from wharf.services import assets, members, workspaces

WS = "/w/default"
API = "/api/v1/workspaces/default"
SECRET = "very-secret-key-9f8e7d"


def api(server: Server, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    return server.http.request(method, f"{API}{path}", headers=headers, **kwargs)


def text_of(page: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture
def catalog(server: Server, tmp_path: Path) -> Server:
    """Data ``heart`` versions 1 and 2; model ``clf`` version 1."""
    data = upload_folder(server.http, server.admin_token, write_csv_files(tmp_path / "h", 2), "h")
    create_data_asset(server.http, server.admin_token, "heart", data)
    create_data_asset(server.http, server.admin_token, "heart", data)
    model = upload_folder(
        server.http, server.admin_token, write_code(tmp_path / "m", {"model.pkl": "x"}), "m"
    )
    created = api(server, "POST", "/models/clf/versions", json={"path": model})
    assert created.status_code == 201, created.text
    return server


def latest(server: Server, kind: assets.AssetKind, name: str) -> str | None:
    with server.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, "default")
        return assets.latest_version(session, workspace, kind, name)


def test_data_assets_show_versions_and_latest_and_archive_moves_latest(catalog: Server) -> None:
    with signed_in(catalog, "dana", "data-scientist") as client:
        listing = client.get(f"{WS}/data")
        assert listing.status_code == 200
        assert "heart 2 data:heart@latest" in text_of(listing.text)
        page = client.get(f"{WS}/data/heart")
        shown = text_of(page.text)
        assert "Latest: version 2" in shown
        assert "2 latest uri_folder" in shown
        assert "data:heart:1" in shown
        archived = client.post(
            f"{WS}/data/heart/archive",
            data={"csrf_token": csrf_token(page.text), "version": "2"},
        )
        assert archived.status_code == 303
        assert latest(catalog, "data", "heart") == "1"
        shown = text_of(client.get(archived.headers["location"]).text)
        assert "Latest: version 1" in shown
        assert "2 archived" in shown
        assert "Restore version 2" in shown
        hidden = text_of(client.get(f"{WS}/data/heart").text)
        assert "Restore version 2" not in hidden  # archived versions hidden by default


def test_models_have_the_same_pages_and_a_reader_may_not_archive(catalog: Server) -> None:
    with signed_in(catalog, "rita", "reader") as client:
        listing = client.get(f"{WS}/models")
        assert "clf 1 model:clf@latest" in text_of(listing.text)
        page = client.get(f"{WS}/models/clf")
        assert page.status_code == 200
        shown = text_of(page.text)
        assert "custom" in shown
        assert "Archive" not in shown
        token = csrf_token(page.text)
        for url in (f"{WS}/models/clf/archive", f"{WS}/data/heart/archive"):
            assert client.post(url, data={"csrf_token": token}).status_code == 403
    assert latest(catalog, "model", "clf") == "1"
    assert latest(catalog, "data", "heart") == "2"


def test_a_datastore_never_shows_its_credentials(server: Server, tmp_path: Path) -> None:
    body = {
        "name": "lake",
        "type": "s3",
        "bucket": "lake",
        "region": "eu-west-1",
        "credentials": {"access_key_id": "AKIAEXAMPLE", "secret_access_key": SECRET},
    }
    assert api(server, "POST", "/datastores", json=body).status_code == 201, body
    upload_folder(server.http, server.admin_token, write_csv_files(tmp_path / "f", 2), "in")
    with signed_in(server, "olga", "owner") as client:
        listing = client.get(f"{WS}/datastores")
        page = client.get(f"{WS}/datastores/lake")
        default = client.get(f"{WS}/datastores/default", params={"prefix": "in"})
    for answer in (listing, page):
        assert answer.status_code == 200
        assert SECRET not in answer.text
        assert "AKIAEXAMPLE" not in answer.text
    assert "stored (never shown)" in text_of(listing.text)
    assert "stored, encrypted; never shown" in text_of(page.text)
    assert "bucket lake" in text_of(page.text)
    assert "in/heart-000.csv in/heart-001.csv" in text_of(default.text)


def test_members_are_granted_changed_and_removed_by_those_allowed(server: Server) -> None:
    create_user(server, "bob", None)
    with signed_in(server, "olga", "owner") as client:
        page = client.get(f"{WS}/members")
        assert page.status_code == 200
        assert "Grant role" in page.text
        token = csrf_token(page.text)
        granted = client.post(
            f"{WS}/members", data={"csrf_token": token, "user": "bob", "role": "reader"}
        )
        assert granted.status_code == 303
        assert role_of(server, "bob") == "reader"
        assert 'id="role-bob"' in client.get(f"{WS}/members").text
        changed = client.post(
            f"{WS}/members/bob/role", data={"csrf_token": token, "role": "contributor"}
        )
        assert changed.status_code == 303
        assert role_of(server, "bob") == "contributor"
        unknown = client.post(
            f"{WS}/members", data={"csrf_token": token, "user": "nobody", "role": "reader"}
        )
        assert unknown.status_code == 404
        assert "nobody" in unescape(unknown.text)
        assert 'value="nobody"' in unknown.text
        role = client.post(
            f"{WS}/roles",
            data={
                "csrf_token": token,
                "name": "viewer",
                "permissions": ["jobs/read", "data/read"],
            },
        )
        assert role.status_code == 303
        assert "viewer" in text_of(client.get(f"{WS}/members").text)
        removed = client.post(f"{WS}/members/bob/remove", data={"csrf_token": token})
        assert removed.status_code == 303
        assert role_of(server, "bob") is None
    with signed_in(server, "rita", "reader") as reader:
        page = reader.get(f"{WS}/members")
        assert page.status_code == 200
        shown = text_of(page.text)
        assert "olga" in shown
        for action in ("Grant role", "Change role", "Remove", "Create role"):
            assert action not in shown
        token = csrf_token(page.text)
        forged = [
            (f"{WS}/members", {"user": "rita", "role": "owner"}),
            (f"{WS}/members/olga/role", {"role": "reader"}),
            (f"{WS}/members/olga/remove", {}),
            (f"{WS}/roles", {"name": "mine", "permissions": "apps/write"}),
        ]
        for url, data in forged:
            assert reader.post(url, data={"csrf_token": token, **data}).status_code == 403, url
    assert role_of(server, "rita") == "reader"
    assert role_of(server, "olga") == "owner"


def test_the_last_owner_cannot_leave_and_is_told_why(server: Server) -> None:
    with signed_in(server, "olga", "owner") as client:
        token = csrf_token(client.get(f"{WS}/members").text)
        other = client.post(f"{WS}/members/admin/remove", data={"csrf_token": token})
        assert other.status_code == 303
        refused = client.post(f"{WS}/members/olga/remove", data={"csrf_token": token})
    assert refused.status_code == 409
    error = re.search(r'id="e-member\.olga"[^>]*>([^<]*)<', refused.text)
    assert error, refused.text
    assert "last owner" in unescape(error.group(1))
    assert role_of(server, "olga") == "owner"


def role_of(server: Server, user: str) -> str | None:
    with server.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, "default")
        found = {m.user: m.role for m in members.list_members(session, workspace.name)}
    return found.get(user)

"""Issue #11 findings 2, 3 and 8 (datastores): workspaces separate on disk, asset versions
written once, no datastore endpoint on the server's own network, no link out of a datastore."""

from __future__ import annotations

import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Server
from wharf.config import Settings
from wharf.services import workspaces
from wharf.store.models import Datastore

pytestmark = pytest.mark.timeout(120)

SECRET_BODY = b"loopback-only-secret-4f1c9e"


class Api:
    """Raw REST calls as one user, so that every status and problem is seen as sent."""

    def __init__(self, server: Server, token: str, workspace: str = "default") -> None:
        self.http = server.http
        self.token = token
        self.base = f"/api/v1/workspaces/{workspace}"

    def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return self.http.request(method, f"{self.base}{path}", headers=headers, **kwargs)

    def create_datastore(self, name: str, type: str, **fields: Any) -> httpx.Response:
        return self("POST", "/datastores", json={"name": name, "type": type, **fields})


@pytest.fixture
def other_workspace(server: Server) -> Path:
    """Workspace ``other`` with a data asset version ``secrets:1`` in its default datastore;
    returns that datastore's folder."""
    admin = Api(server, server.admin_token, "other")
    answer = server.http.post(
        "/api/v1/workspaces",
        json={"name": "other"},
        headers={"Authorization": f"Bearer {server.admin_token}"},
    )
    assert answer.status_code == 201, answer.text
    assert admin("PUT", "/datastores/default/files/v1/data.csv", content=b"a,b\n1,2\n").is_success
    answer = admin(
        "POST",
        "/data/secrets/versions",
        json={"type": "uri_folder", "path": "wharf://datastores/default/paths/v1/"},
    )
    assert answer.status_code == 201, answer.text
    return server.platform.settings.default_datastore_dir / "other"


def test_a_data_scientist_cannot_root_a_datastore_in_another_workspace(
    server: Server, other_workspace: Path
) -> None:
    scientist = Api(server, server.user_with_role("dana", "data-scientist"))
    data_dir = server.platform.settings.data_dir
    for root in (other_workspace, data_dir / "datastores", data_dir, data_dir / "envs"):
        answer = scientist.create_datastore("peek", "local", root=str(root))
        assert answer.status_code == 422, answer.text
        assert "data dir" in answer.json()["detail"]
    # Not through a symbolic link either: the root counts where it leads.
    own = server.platform.settings.default_datastore_dir / "default"
    (own / "door").symlink_to(other_workspace)
    answer = scientist.create_datastore("door", "local", root=str(own / "door"))
    assert answer.status_code == 422, answer.text
    # The other workspace's version is untouched and still readable by its own members.
    assert (other_workspace / "v1" / "data.csv").read_bytes() == b"a,b\n1,2\n"


def test_outside_the_workspace_folder_only_an_admin_under_an_admin_root(
    server: Server, tmp_path: Path
) -> None:
    scientist = Api(server, server.user_with_role("dana", "data-scientist"))
    admin = Api(server, server.admin_token)
    shared = tmp_path / "shared"
    # No admin roots: refused for everyone, saying where local datastores may be.
    for caller in (scientist, admin):
        answer = caller.create_datastore("lake", "local", root=str(shared / "lake"))
        assert answer.status_code == 422
        assert "WHARF_LOCAL_DATASTORE_ROOTS" in answer.json()["detail"]
    server.platform.settings.local_datastore_roots = [shared]
    answer = scientist.create_datastore("lake", "local", root=str(shared / "lake"))
    assert answer.status_code == 403
    assert "platform admin" in answer.json()["detail"]
    assert admin.create_datastore("lake", "local", root=str(shared / "lake")).status_code == 201
    for nested in (shared / "lake" / "inner", shared):
        answer = admin.create_datastore("nested", "local", root=str(nested))
        assert answer.status_code == 409, answer.text
        assert "overlaps the root of another datastore" in answer.json()["detail"]
    # Inside its own workspace's folder, a member with datastores/write needs nothing more.
    own = server.platform.settings.default_datastore_dir / "default" / "projects"
    assert scientist.create_datastore("projects", "local", root=str(own)).status_code == 201


def test_a_datastore_made_under_older_rules_is_refused_at_each_use(
    server: Server, other_workspace: Path
) -> None:
    # As a release before this one let it be created: rooted in another workspace's folder.
    with server.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, "default")
        session.add(
            Datastore(
                workspace_id=workspace.id,
                name="old",
                type="local",
                settings={"root": str(other_workspace)},
            )
        )
    scientist = Api(server, server.user_with_role("dana", "data-scientist"))
    listed = scientist("GET", "/datastores/old/files")
    read = scientist("GET", "/datastores/old/files/v1/data.csv")
    written = scientist("PUT", "/datastores/old/files/v1/data.csv", content=b"overwritten")
    for answer in (listed, read, written):
        assert answer.status_code == 422, answer.text
        assert "outside the roots local datastores may use" in answer.json()["detail"]
    assert (other_workspace / "v1" / "data.csv").read_bytes() == b"a,b\n1,2\n"


def test_an_asset_version_is_written_once_and_made_read_only(
    server: Server, other_workspace: Path
) -> None:
    owner = Api(server, server.admin_token, "other")
    version_file = other_workspace / "v1" / "data.csv"
    assert stat.S_IMODE(version_file.stat().st_mode) == 0o400
    assert stat.S_IMODE(version_file.parent.stat().st_mode) == 0o500
    for path in ("v1/data.csv", "v1/new.csv"):
        answer = owner("PUT", f"/datastores/default/files/{path}", content=b"changed")
        assert answer.status_code == 409, answer.text
        assert "secrets" in answer.json()["detail"]
        assert answer.json()["code"] == "immutable-version"
    assert version_file.read_bytes() == b"a,b\n1,2\n"
    # Beside it, files are written and replaced as before.
    assert owner("PUT", "/datastores/default/files/v10/x.csv", content=b"1").is_success
    assert owner("PUT", "/datastores/default/files/v10/x.csv", content=b"2").is_success


@pytest.fixture
def loopback_secret() -> Iterator[int]:
    """A loopback-only HTTP service that answers every GET with a secret: its port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(SECRET_BODY)))
            self.end_headers()
            self.wfile.write(SECRET_BODY)

        do_HEAD = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads answers, not access logs."""

    service = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=service.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(service.server_address[1])
    finally:
        service.shutdown()
        service.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize("kind", ["s3", "gcs", "azure_blob"])
def test_datastore_endpoints_on_the_servers_own_network_are_refused(
    server: Server, loopback_secret: int, kind: str
) -> None:
    scientist = Api(server, server.user_with_role("dana", "data-scientist"))
    field = "account_url" if kind == "azure_blob" else "endpoint_url"
    extra = (
        {"account_name": "acct", "container_name": "data"}
        if kind == "azure_blob"
        else {"bucket": "data"}
    )
    for url in (
        f"http://127.0.0.1:{loopback_secret}",
        "http://169.254.169.254",
        f"http://[::1]:{loopback_secret}",
        f"http://2130706433:{loopback_secret}",
        f"http://[::ffff:127.0.0.1]:{loopback_secret}",
        f"http://localhost:{loopback_secret}",
    ):
        answer = scientist.create_datastore("inner", kind, **{field: url}, **extra)
        assert answer.status_code == 422, (url, answer.text)
        problem = answer.json()
        assert problem["code"] == "url-not-allowed"
        assert "is refused" in problem["detail"]
        read = scientist("GET", "/datastores/inner/files/secret.txt")
        assert read.status_code == 404
        assert SECRET_BODY not in read.content


def test_an_endpoint_stored_before_the_check_is_refused_when_used(
    server: Server, loopback_secret: int
) -> None:
    with server.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, "default")
        session.add(
            Datastore(
                workspace_id=workspace.id,
                name="inner",
                type="s3",
                settings={"bucket": "data", "endpoint_url": f"http://127.0.0.1:{loopback_secret}"},
            )
        )
    scientist = Api(server, server.user_with_role("dana", "data-scientist"))
    for path in ("/datastores/inner/files/secret.txt", "/datastores/inner/files"):
        answer = scientist("GET", path)
        assert answer.status_code == 422, answer.text
        assert SECRET_BODY not in answer.content
        assert answer.json()["code"] == "url-not-allowed"


def test_the_allow_list_lets_an_admin_named_host_through(
    settings: Settings, loopback_secret: int
) -> None:
    allowed = Settings(
        **{**settings.model_dump(), "allow_private_urls": f"127.0.0.1:{loopback_secret}"}
    )
    from wharf.storage.datastores import open_datastore

    store = open_datastore(
        "s3",
        {"bucket": "data", "endpoint_url": f"http://127.0.0.1:{loopback_secret}"},
        None,
        allowed_local_roots=[],
        allowed_hosts=allowed.private_url_allowlist,
    )
    assert store.root == "data"


def test_links_out_of_a_datastore_are_left_out_of_listings_and_never_read(
    server: Server, other_workspace: Path
) -> None:
    scientist = Api(server, server.user_with_role("dana", "data-scientist"))
    own = server.platform.settings.default_datastore_dir / "default"
    folder = own / "inputs"
    folder.mkdir(parents=True)
    (folder / "ok.csv").write_text("a\n1\n")
    (folder / "passwd.csv").symlink_to("/etc/passwd")
    (folder / "neighbour").symlink_to(other_workspace)
    (folder / "neighbour.csv").symlink_to(other_workspace / "v1" / "data.csv")
    listed = scientist("GET", "/datastores/default/files", params={"prefix": "inputs"})
    assert listed.status_code == 200
    assert [f["path"] for f in listed.json()] == ["inputs/ok.csv"]
    for path in ("inputs/passwd.csv", "inputs/neighbour.csv", "inputs/neighbour/v1/data.csv"):
        answer = scientist("GET", f"/datastores/default/files/{path}")
        assert answer.status_code == 422, answer.text
        assert "leads outside the datastore's root" in answer.json()["detail"]
        assert b"root:" not in answer.content
        assert b"a,b" not in answer.content


def test_the_database_the_key_and_the_data_dir_are_private(server: Server) -> None:
    settings = server.platform.settings
    assert stat.S_IMODE(settings.data_dir.stat().st_mode) == 0o700
    private = [settings.data_dir / "secret.key"]
    if settings.effective_database_url.startswith("sqlite"):
        private += [settings.data_dir / "wharf.db", settings.data_dir / "wharf.db-wal"]
    for path in private:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

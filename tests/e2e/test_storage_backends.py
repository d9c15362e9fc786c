"""Cloud datastores against real servers: Azurite for azure_blob, moto's S3 server for s3.

The same tests run on both: list, read, write, stream through fsspec, stay inside the
root, and fail with errors that never contain a credential.
"""

from __future__ import annotations

import base64
import secrets
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.storage_servers import AzuriteServer, S3Server
from wharf.errors import Invalid, NotFound, ServiceError
from wharf.storage.datastores import OpenDatastore, open_datastore
from wharf.storage.network import HostAllowList
from wharf.storage.resolver import resolve_reference

pytestmark = pytest.mark.e2e

# The server fixtures, until tests/conftest.py imports them for every module.


@dataclass
class Backend:
    """How to open a datastore of one type on its test server."""

    type: str
    settings: dict[str, Any]
    credentials: dict[str, str]
    wrong_credentials: Callable[[], dict[str, str]]
    allowed_hosts: HostAllowList

    def open(self, **changes: Any) -> OpenDatastore:
        settings = {**self.settings, **changes.pop("settings", {})}
        credentials = changes.pop("credentials", self.credentials)
        return open_datastore(
            self.type,
            settings,
            credentials,
            allowed_local_roots=[],
            allowed_hosts=self.allowed_hosts,
            name="remote",
        )


def random_azure_key() -> str:
    return base64.b64encode(secrets.token_bytes(64)).decode()


@pytest.fixture(params=["azure_blob", "s3"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "azure_blob":
        server: AzuriteServer = request.getfixturevalue("azurite")
        return Backend(
            type="azure_blob",
            settings={
                "account_name": server.account_name,
                "container_name": request.getfixturevalue("azure_container"),
                "account_url": server.account_url,
            },
            credentials={"account_key": server.account_key},
            wrong_credentials=lambda: {"account_key": random_azure_key()},
            allowed_hosts=HostAllowList.parse(server.allow_pattern),
        )
    s3: S3Server = request.getfixturevalue("s3_server")
    return Backend(
        type="s3",
        settings={
            "bucket": request.getfixturevalue("s3_bucket"),
            "endpoint_url": s3.endpoint_url,
            "region": s3.region,
        },
        credentials={
            "access_key_id": s3.access_key_id,
            "secret_access_key": s3.secret_access_key,
        },
        wrong_credentials=lambda: {
            "access_key_id": s3.access_key_id,
            "secret_access_key": "Wrong" + secrets.token_urlsafe(30),
        },
        allowed_hosts=HostAllowList.parse(s3.allow_pattern),
    )


def everything_shown(error: BaseException) -> str:
    """All the text a log line or an API response could carry about ``error``."""
    extra = error.extra if isinstance(error, ServiceError) else {}
    return "\n".join(
        [str(error), repr(error), "".join(traceback.format_exception(error)), repr(extra)]
    )


def test_a_cloud_datastore_writes_lists_and_reads(backend: Backend) -> None:
    store = backend.open()
    store.write_bytes("runs/2024/scores.csv", b"id,score\n1,0.5\n")
    store.write_bytes("runs/2024/more.csv", b"id,score\n2,0.7\n")
    store.write_bytes("readme.txt", b"hello")
    assert store.list_paths() == ["readme.txt", "runs/"]
    assert store.list_paths("runs/2024/") == ["runs/2024/more.csv", "runs/2024/scores.csv"]
    assert store.list_paths(recursive=True) == [
        "readme.txt",
        "runs/2024/more.csv",
        "runs/2024/scores.csv",
    ]
    assert store.read_bytes("runs/2024/scores.csv") == b"id,score\n1,0.5\n"
    assert store.exists("runs/2024/more.csv")
    assert not store.exists("runs/2025/more.csv")


def test_the_batch_engine_can_stream_through_fsspec(backend: Backend) -> None:
    store = backend.open()
    path = store.resolve("outputs/predictions.csv")
    with store.translate_errors("outputs/predictions.csv"):
        with store.fs.open(path, "wb") as handle:
            for row in range(1000):
                handle.write(f"{row},{row * 2}\n".encode())
        with store.fs.open(path, "rb") as handle:
            lines = handle.read().decode().splitlines()
    assert lines[0] == "0,0"
    assert len(lines) == 1000
    location = resolve_reference(
        "azureml://datastores/remote/paths/outputs/predictions.csv",
        open_datastore_named=lambda name: store,
        read_asset_path=lambda reference: "",
        allowed_hosts=HostAllowList(),
    )
    assert location.writable
    assert location.fs.cat_file(location.path).startswith(b"0,0\n1,2\n")


def test_a_prefix_is_the_datastore_root(backend: Backend) -> None:
    team = backend.open(settings={"prefix": "team-a"})
    whole = backend.open()
    team.write_bytes("x.csv", b"x")
    whole.write_bytes("outside.csv", b"secret data")
    assert whole.list_paths() == ["outside.csv", "team-a/"]
    assert team.list_paths(recursive=True) == ["x.csv"]
    with pytest.raises(Invalid, match="'\\.\\.' segment"):
        team.read_bytes("../outside.csv")


def test_missing_files_and_containers_are_not_found(backend: Backend) -> None:
    store = backend.open()
    with pytest.raises(NotFound, match=r"datastore 'remote', path 'nope\.csv'"):
        store.read_bytes("nope.csv")
    name_field = "container_name" if backend.type == "azure_blob" else "bucket"
    missing = backend.open(settings={name_field: "no-such-" + secrets.token_hex(4)})
    with pytest.raises(NotFound):
        missing.list_paths()


def test_a_wrong_key_fails_without_showing_the_key(backend: Backend) -> None:
    wrong = backend.wrong_credentials()
    store = backend.open(credentials=wrong)
    with pytest.raises(Invalid) as caught:
        store.list_paths()
    assert caught.value.code == "datastore-access-denied"
    assert "check the datastore's credentials" in str(caught.value)
    shown = everything_shown(caught.value)
    for secret in wrong.values():
        if secret != backend.credentials.get("access_key_id"):
            assert secret not in shown
    with pytest.raises(Invalid) as caught_on_write:
        store.write_bytes("x.csv", b"x")
    for secret in wrong.values():
        assert secret not in everything_shown(caught_on_write.value)


def test_azure_connection_strings_and_sas_tokens_stay_secret(
    azurite: AzuriteServer, azure_container: str
) -> None:
    settings = {
        "account_name": azurite.account_name,
        "container_name": azure_container,
        "account_url": azurite.account_url,
    }
    good = open_datastore(
        "azure_blob",
        settings,
        {"connection_string": azurite.connection_string},
        allowed_local_roots=[],
        allowed_hosts=HostAllowList.parse(azurite.allow_pattern),
    )
    good.write_bytes("a.txt", b"a")
    assert good.list_paths() == ["a.txt"]

    wrong_key = random_azure_key()
    wrong_string = azurite.connection_string.replace(azurite.account_key, wrong_key)
    signature = base64.b64encode(secrets.token_bytes(32)).decode()
    for credentials, hidden in (
        ({"connection_string": wrong_string}, [wrong_key, wrong_string]),
        ({"sas_token": f"sv=2024-08-04&sp=rl&sr=c&se=2099-01-01&sig={signature}"}, [signature]),
    ):
        store = open_datastore(
            "azure_blob",
            settings,
            credentials,
            allowed_local_roots=[],
            allowed_hosts=HostAllowList.parse(azurite.allow_pattern),
        )
        with pytest.raises(Invalid) as caught:
            store.read_bytes("a.txt")
        shown = everything_shown(caught.value)
        for secret in hidden:
            assert secret not in shown

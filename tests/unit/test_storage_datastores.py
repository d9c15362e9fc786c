"""Datastores: settings checks, local roots the admin allows, and no way out of a root."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from wharf.errors import Invalid, NotFound
from wharf.storage.datastore_config import (
    AzureBlobDatastoreConfig,
    DatastoreCredentials,
    LocalDatastoreConfig,
    validate_datastore_config,
)
from wharf.storage.datastores import (
    OpenDatastore,
    open_datastore,
    open_datastore_config,
    validate_datastore_settings,
)


@pytest.fixture
def allowed(tmp_path: Path) -> Path:
    root = tmp_path / "datastores"
    root.mkdir()
    return root


@pytest.fixture
def store(allowed: Path) -> OpenDatastore:
    return open_datastore(
        "local", {"root": str(allowed / "team")}, None, allowed_local_roots=[allowed], name="team"
    )


def test_a_local_datastore_writes_lists_and_reads(store: OpenDatastore, allowed: Path) -> None:
    store.write_bytes("runs/2024/x.csv", b"a,b\n1,2\n")
    store.write_bytes("top.txt", b"top")
    assert (allowed / "team" / "runs" / "2024" / "x.csv").read_bytes() == b"a,b\n1,2\n"
    assert store.read_bytes("runs/2024/x.csv") == b"a,b\n1,2\n"
    assert store.list_paths() == ["runs/", "top.txt"]
    assert store.list_paths("runs/", recursive=True) == ["runs/2024/x.csv"]
    assert store.exists("runs/2024")
    assert not store.exists("nothing")
    assert store.resolve("") == str((allowed / "team").resolve())
    assert "secret" not in repr(store)


def test_missing_files_are_not_found(store: OpenDatastore) -> None:
    with pytest.raises(NotFound, match=r"datastore 'team', path 'nope\.csv': not found"):
        store.read_bytes("nope.csv")


@pytest.mark.parametrize(
    "path", ["..", "../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a\\..\\b", "a/\x00"]
)
def test_paths_that_could_escape_the_root_are_refused(store: OpenDatastore, path: str) -> None:
    with pytest.raises(Invalid, match="is not valid"):
        store.resolve(path)
    with pytest.raises(Invalid):
        store.read_bytes(path)
    with pytest.raises(Invalid):
        store.write_bytes(path, b"x")


def test_a_symlink_out_of_a_local_root_is_refused(
    store: OpenDatastore, allowed: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0")
    root = allowed / "team"
    (root / "escape").symlink_to(outside)
    (root / "escape-file").symlink_to(outside / "passwd")
    (root / "inside").mkdir()
    (root / "inside" / "ok.txt").write_text("ok")
    (root / "alias").symlink_to(root / "inside")

    for path in ("escape/passwd", "escape-file", "escape/new.txt"):
        with pytest.raises(Invalid, match="leads outside the datastore's root"):
            store.resolve(path)
    with pytest.raises(Invalid, match="leads outside"):
        store.read_bytes("escape-file")
    with pytest.raises(Invalid, match="leads outside"):
        store.write_bytes("escape/new.txt", b"x")
    assert not (outside / "new.txt").exists()
    # Links that stay inside the root are fine, and listings leave the escaping ones out.
    assert store.read_bytes("alias/ok.txt") == b"ok"
    assert store.list_paths() == ["alias/", "inside/"]
    assert store.list_paths(recursive=True) == ["inside/ok.txt"]


def test_local_roots_must_be_inside_an_allowed_root(allowed: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    with pytest.raises(Invalid, match="outside the roots local datastores may use"):
        open_datastore("local", {"root": str(elsewhere)}, None, allowed_local_roots=[allowed])
    with pytest.raises(Invalid, match="must be an absolute path"):
        open_datastore("local", {"root": "relative/dir"}, None, allowed_local_roots=[allowed])
    with pytest.raises(Invalid, match="outside the roots"):
        open_datastore("local", {"root": str(allowed / "..")}, None, allowed_local_roots=[allowed])
    with pytest.raises(Invalid, match="outside the roots"):
        open_datastore("local", {"root": "/"}, None, allowed_local_roots=[allowed])
    # A root that is a symbolic link counts where the link leads.
    (allowed / "link").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(Invalid, match="outside the roots"):
        open_datastore(
            "local", {"root": str(allowed / "link")}, None, allowed_local_roots=[allowed]
        )
    assert not elsewhere.exists()
    # An allowed root itself, and any folder under it, are fine.
    assert open_datastore("local", {"root": str(allowed)}, None, allowed_local_roots=[allowed])


def test_validated_settings_are_what_the_store_keeps(allowed: Path) -> None:
    settings = validate_datastore_settings(
        "azure_blob",
        {"account_name": "acct1", "container_name": "data"},
        {"account_key": "c2VjcmV0"},
        allowed_local_roots=[allowed],
    )
    assert settings == {
        "account_name": "acct1",
        "container_name": "data",
        "prefix": "",
        "endpoint": "core.windows.net",
        "protocol": "https",
        "account_url": None,
    }
    assert validate_datastore_settings(
        "local", {"root": str(allowed / "x")}, {}, allowed_local_roots=[allowed]
    ) == {"root": str(allowed / "x")}


@pytest.mark.parametrize(
    ("datastore_type", "settings", "credentials", "message"),
    [
        ("ftp", {}, None, "datastore settings are not valid"),
        ("s3", {}, None, "bucket: Field required"),
        ("s3", {"bucket": "B_ad"}, None, "bucket 'B_ad' is not valid"),
        ("s3", {"bucket": "ok-bucket", "prefix": "../x"}, None, "prefix '../x' is not valid"),
        ("s3", {"bucket": "ok-bucket", "colour": "red"}, None, "colour: Extra inputs"),
        ("s3", {"bucket": "ok-bucket"}, {"access_key_id": "AKIA1"}, "needs both access_key_id"),
        ("s3", {"bucket": "ok-bucket"}, {"account_key": "k"}, "does not take account_key"),
        (
            "s3",
            {"bucket": "ok-bucket", "endpoint_url": "https://u:pw@minio:9000"},
            None,
            "must not carry credentials",
        ),
        ("s3", {"bucket": "ok-bucket", "endpoint_url": "ftp://x"}, None, "http:// or https://"),
        (
            "azure_blob",
            {"account_name": "acct1", "container_name": "data"},
            {"account_key": "k", "sas_token": "s"},
            "takes one of account_key, sas_token, connection_string",
        ),
        (
            "azure_blob",
            {"account_name": "acct1", "container_name": "data"},
            {"connection_string": "hello"},
            "not an Azure Storage connection string",
        ),
        (
            "azure_blob",
            {"account_name": "acct1", "container_name": "a--b"},
            None,
            "container_name 'a--b' is not valid",
        ),
        ("gcs", {"bucket": "ok-bucket"}, {"service_account_json": "{nope"}, "not a Google"),
        ("local", {"root": "/tmp"}, {"access_key_id": "x"}, "does not take access_key_id"),
    ],
)
def test_settings_that_break_a_rule_are_refused(
    allowed: Path,
    datastore_type: str,
    settings: dict[str, str],
    credentials: dict[str, str] | None,
    message: str,
) -> None:
    with pytest.raises(Invalid, match=message) as caught:
        validate_datastore_settings(
            datastore_type, settings, credentials, allowed_local_roots=[allowed]
        )
    for secret in (credentials or {}).values():
        if len(secret) > 2:
            assert secret not in str(caught.value)


def test_credential_errors_never_quote_the_value(allowed: Path) -> None:
    with pytest.raises(Invalid) as caught:
        validate_datastore_settings(
            "s3",
            {"bucket": "ok-bucket"},
            {"secret_access_key": ["s3cr3t-in-a-list"], "pasword": "typo-s3cr3t"},  # type: ignore[dict-item]
            allowed_local_roots=[allowed],
        )
    assert "s3cr3t" not in str(caught.value)
    assert "secret_access_key" in str(caught.value)
    assert "pasword" in str(caught.value)


def test_credentials_never_show_in_repr_str_or_json() -> None:
    credentials = DatastoreCredentials.model_validate(
        {"account_key": "TOP-SECRET-KEY", "sas_token": "sv=1&sig=TOP-SECRET-SIG"}
    )
    for shown in (repr(credentials), str(credentials), credentials.model_dump_json()):
        assert "TOP-SECRET" not in shown
    assert credentials.provided_fields() == ["account_key", "sas_token"]
    assert credentials.reveal() == {
        "account_key": "TOP-SECRET-KEY",
        "sas_token": "sv=1&sig=TOP-SECRET-SIG",
    }


def test_gcs_key_file_errors_do_not_quote_the_file(allowed: Path) -> None:
    document = json.dumps({"private_key": "-----BEGIN PRIVATE KEY-----\nMIIEv\n"})
    with pytest.raises(Invalid) as caught:
        validate_datastore_settings(
            "gcs",
            {"bucket": "ok-bucket"},
            {"service_account_json": document},
            allowed_local_roots=[allowed],
        )
    assert "MIIEv" not in str(caught.value)


def test_typed_configs_validate_and_open_the_same_way(allowed: Path) -> None:
    config = LocalDatastoreConfig(root=allowed / "typed")
    validate_datastore_config(config, DatastoreCredentials(), allowed_local_roots=[allowed])
    store = open_datastore_config(config, DatastoreCredentials(), allowed_local_roots=[allowed])
    store.write_bytes("a.txt", b"a")
    assert os.listdir(allowed / "typed") == ["a.txt"]
    azure = AzureBlobDatastoreConfig(account_name="acct1", container_name="data")
    with pytest.raises(Invalid, match="does not take"):
        validate_datastore_config(
            azure,
            DatastoreCredentials.model_validate({"access_key_id": "x"}),
            allowed_local_roots=[],
        )

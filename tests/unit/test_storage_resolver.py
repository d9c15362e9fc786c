"""The resolver: what each reference opens, and what it refuses, with no network use."""

from __future__ import annotations

from pathlib import Path

import adlfs  # type: ignore[import-untyped]
import gcsfs.core  # type: ignore[import-untyped]
import pytest
import s3fs  # type: ignore[import-untyped]

from wharf.errors import Invalid, NotFound
from wharf.storage.datastores import OpenDatastore, open_datastore
from wharf.storage.network import HostAllowList
from wharf.storage.references import AssetReference
from wharf.storage.resolver import Location, resolve_reference
from wharf.storage.urls import ReadOnlyHTTPFileSystem


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "datastores"


def resolve(text: str, root: Path, *, stored: str = "", allow_private: bool = False) -> Location:
    def open_named(name: str) -> OpenDatastore:
        if name != "default":
            raise NotFound(f"datastore {name!r} does not exist")
        return open_datastore(
            "local", {"root": str(root / "default")}, None, allowed_local_roots=[root], name=name
        )

    def read_asset_path(reference: AssetReference) -> str:
        if reference.name != "heart":
            raise NotFound(f"data asset {reference.name!r} does not exist")
        return stored

    return resolve_reference(
        text,
        open_datastore_named=open_named,
        read_asset_path=read_asset_path,
        allowed_hosts=HostAllowList.parse("*" if allow_private else ""),
    )


def test_datastore_paths_are_writable_locations_in_the_datastore(root: Path) -> None:
    location = resolve("wharf://datastores/default/paths/runs/x.csv", root)
    assert location.writable
    assert location.path == str((root / "default" / "runs" / "x.csv").resolve())
    location.fs.pipe_file(location.path, b"score\n1\n")
    assert (root / "default" / "runs" / "x.csv").read_bytes() == b"score\n1\n"
    alias = resolve("azureml://datastores/default/paths/runs/x.csv", root)
    assert alias.path == location.path


def test_assets_resolve_through_their_stored_path_and_are_read_only(root: Path) -> None:
    stored = "wharf://datastores/default/paths/data/heart/1/"
    location = resolve("data:heart@latest", root, stored=stored)
    assert not location.writable
    assert location.path == str((root / "default" / "data" / "heart" / "1").resolve())
    assert location.reference == AssetReference("data", "heart", label="latest")


def test_unknown_datastores_and_assets_are_not_found(root: Path) -> None:
    with pytest.raises(NotFound, match="datastore 'other'"):
        resolve("wharf://datastores/other/paths/x", root)
    with pytest.raises(NotFound, match="data asset 'lungs'"):
        resolve("data:lungs:1", root)


def test_an_asset_stored_with_a_local_path_is_refused(root: Path) -> None:
    with pytest.raises(Invalid, match="not a datastore path or URL"):
        resolve("data:heart:1", root, stored="./data")


def test_local_paths_are_never_read_by_the_server(root: Path) -> None:
    for text in ("./data", "/etc/passwd", "file:///etc/passwd", "data.csv"):
        with pytest.raises(Invalid, match="is a local path") as caught:
            resolve(text, root)
        assert caught.value.code == "local-path-not-allowed"


def test_https_references_are_checked_and_read_only(root: Path) -> None:
    with pytest.raises(Invalid, match="is refused"):
        resolve("https://169.254.169.254/latest/meta-data/", root)
    location = resolve("https://93.184.216.34/heart.csv", root)
    assert isinstance(location.fs, ReadOnlyHTTPFileSystem)
    assert not location.writable
    assert location.path == "https://93.184.216.34/heart.csv"
    assert resolve("https://127.0.0.1/x.csv", root, allow_private=True).path.endswith("x.csv")


def test_cloud_urls_open_anonymous_read_only_filesystems(root: Path) -> None:
    s3 = resolve("s3://public-data/heart/part-0.csv", root)
    assert isinstance(s3.fs, s3fs.S3FileSystem)
    assert s3.fs.anon is True
    assert s3.path == "public-data/heart/part-0.csv"
    assert not s3.writable
    gcs = resolve("gs://public-data/heart/", root)
    assert isinstance(gcs.fs, gcsfs.core.GCSFileSystem)
    assert gcs.path == "public-data/heart"
    azure = resolve("abfs://data@pubacct.dfs.core.windows.net/heart/x.csv", root)
    assert isinstance(azure.fs, adlfs.AzureBlobFileSystem)
    assert azure.path == "data/heart/x.csv"
    assert azure.fs.service_client.account_name == "pubacct"


def test_azure_urls_must_name_their_account(root: Path) -> None:
    with pytest.raises(Invalid, match="does not name the storage account"):
        resolve("az://data/heart/x.csv", root)


def test_paths_inside_cloud_urls_cannot_escape_either(root: Path) -> None:
    with pytest.raises(Invalid, match=r"'\.\.' segment"):
        resolve("s3://bucket/a/../../other-bucket/x", root)

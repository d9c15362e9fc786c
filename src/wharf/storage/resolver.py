"""Turn a reference into a filesystem and a path that the batch engine reads or writes.

The resolver knows no database: the caller passes how to open a datastore by name and
how to find the stored path of an asset version, so services decide permissions and
lookups, and this module decides what a reference means.

- ``wharf://datastores/<ds>/paths/<p>``: the datastore's filesystem; writable.
- ``data:``/``model:``: the asset version's stored path, resolved in turn; read-only
  (versions never change).
- ``s3://``, ``gs://``/``gcs://``, ``abfs://``/``abfss://``/``az://`` with
  ``<container>@<account>.<dfs|blob>.<endpoint>``: anonymous, read-only. Private buckets
  are reached through a datastore, whose credentials the admin controls.
- ``https://``: read-only, public addresses only unless the admin allows the host
  (``allowed_hosts``); the filesystem checks again on every connection.
- Local paths: refused; the CLI and SDK upload them first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from fsspec import AbstractFileSystem  # type: ignore[import-untyped]

from wharf.errors import Invalid
from wharf.storage.backend_errors import translate_backend_errors
from wharf.storage.datastore_config import (
    AzureBlobDatastoreConfig,
    DatastoreConfig,
    DatastoreCredentials,
    GcsDatastoreConfig,
    S3DatastoreConfig,
)
from wharf.storage.datastores import OpenDatastore, open_datastore_config
from wharf.storage.filesystems import DEFAULT_TIMEOUT_SECONDS
from wharf.storage.network import HostAllowList, check_url
from wharf.storage.references import (
    AssetKind,
    AssetReference,
    DatastorePathReference,
    LocalPathReference,
    Reference,
    UrlReference,
    describe_reference,
    format_reference,
    parse_reference,
)
from wharf.storage.urls import open_https_filesystem

DatastoreOpener = Callable[[str], OpenDatastore]
"""Opens the caller's datastore by name (NotFound when there is none)."""

AssetPathReader = Callable[[AssetReference], str]
"""The stored path (a ``wharf://`` or URL reference) of an asset version (NotFound if none)."""


@dataclass(frozen=True)
class Location:
    """Where a reference points: ``fs`` and ``path`` in it, and whether it may be written."""

    reference: Reference
    fs: AbstractFileSystem
    path: str
    writable: bool
    datastore: OpenDatastore | None = field(default=None, repr=False)

    @contextmanager
    def translate_errors(self) -> Iterator[None]:
        """Backend failures in the block become NotFound/Invalid naming the reference."""
        if self.datastore is not None:
            with self.datastore.translate_errors(self.path):
                yield
            return
        with translate_backend_errors(
            datastore=describe_reference(format_reference(self.reference)),
            path="",
            secret_forms=(),
        ):
            yield


def resolve_reference(
    reference: Reference | str,
    *,
    open_datastore_named: DatastoreOpener,
    read_asset_path: AssetPathReader,
    allowed_hosts: HostAllowList,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    azureml_kind: AssetKind = "data",
) -> Location:
    """The :class:`Location` of ``reference`` (text is parsed first).

    Raises Invalid for a reference that is malformed or not allowed (a local path, a
    private address, a way out of a datastore) and NotFound, from the two callables, for
    a datastore or asset version that does not exist.
    """
    if isinstance(reference, str):
        reference = parse_reference(reference, azureml_kind=azureml_kind)
    if isinstance(reference, AssetReference):
        stored = parse_reference(read_asset_path(reference))
        if not isinstance(stored, DatastorePathReference | UrlReference):
            raise Invalid(
                f"{format_reference(reference)} is stored with a path that is not a datastore "
                "path or URL",
                code="invalid-reference",
            )
        target = _resolve_direct(stored, open_datastore_named, allowed_hosts, timeout_seconds)
        return Location(reference, target.fs, target.path, False, target.datastore)
    if isinstance(reference, LocalPathReference):
        raise Invalid(
            f"reference {describe_reference(reference.path)!r} is a local path; the server "
            "does not read its own files for a caller. Upload it first (the CLI and SDK do "
            "this for you) or use a datastore path",
            code="local-path-not-allowed",
        )
    return _resolve_direct(reference, open_datastore_named, allowed_hosts, timeout_seconds)


def _resolve_direct(
    reference: DatastorePathReference | UrlReference,
    open_datastore_named: DatastoreOpener,
    allowed_hosts: HostAllowList,
    timeout_seconds: float,
) -> Location:
    if isinstance(reference, DatastorePathReference):
        datastore = open_datastore_named(reference.datastore)
        return Location(reference, datastore.fs, datastore.resolve(reference.path), True, datastore)
    if reference.scheme == "https":
        check_url(reference.url, allowed=allowed_hosts)
        fs = open_https_filesystem(allowed=allowed_hosts, timeout_seconds=timeout_seconds)
        return Location(reference, fs, reference.url, False)
    config, path = _describe_public_bucket(reference)
    datastore = open_datastore_config(
        config,
        DatastoreCredentials(),
        allowed_local_roots=[],
        allowed_hosts=allowed_hosts,
        timeout_seconds=timeout_seconds,
        name=f"{reference.scheme}://{urlsplit(reference.url).netloc}",
    )
    return Location(reference, datastore.fs, datastore.resolve(path), False, datastore)


def _describe_public_bucket(reference: UrlReference) -> tuple[DatastoreConfig, str]:
    """An anonymous datastore config for a cloud URL, and the path inside it."""
    parts = urlsplit(reference.url)
    path = unquote(parts.path.lstrip("/"))
    if reference.scheme == "s3":
        return S3DatastoreConfig(bucket=parts.netloc), path
    if reference.scheme in ("gs", "gcs"):
        return GcsDatastoreConfig(bucket=parts.netloc), path
    container, at, host = parts.netloc.partition("@")
    account, _, rest = host.partition(".")
    service, _, endpoint = rest.partition(".")
    if not at or service not in ("dfs", "blob") or not endpoint:
        raise Invalid(
            f"reference {describe_reference(reference.url)!r} does not name the storage "
            f"account: write {reference.scheme}://<container>@<account>.dfs.core.windows.net/"
            "<path>, or register a datastore and use wharf://datastores/<name>/paths/<path>",
            code="invalid-reference",
        )
    config = AzureBlobDatastoreConfig(
        account_name=account, container_name=container, endpoint=endpoint
    )
    return config, path

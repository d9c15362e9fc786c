"""One fsspec filesystem per datastore type, built only from the datastore's own settings.

Every client gets explicit credentials or explicit anonymity, so the server's environment
(``AWS_*``, ``AZURE_STORAGE_*``, instance metadata, ``~/.aws``) never lends a datastore
access it was not given. Instances skip fsspec's cache: a cached instance would keep old
credentials alive after a datastore is updated.

Every client gets a connect and read timeout, so a storage service that accepts a connection
and never answers cannot hold a thread for long. The S3 client also connects only through a
:class:`~wharf.storage.checked_resolver.CheckedResolver`: the endpoint's name is checked where it is
resolved for the connection, not only when the datastore is opened. The GCS and Azure clients
accept no resolver; their endpoint is checked each time the datastore is opened (see
:mod:`wharf.storage.network`).
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import aiohttp
from fsspec import AbstractFileSystem  # type: ignore[import-untyped]
from fsspec.implementations.local import LocalFileSystem  # type: ignore[import-untyped]

from wharf.errors import Invalid
from wharf.storage.checked_resolver import CheckedResolver
from wharf.storage.datastore_config import (
    AzureBlobDatastoreConfig,
    DatastoreConfig,
    DatastoreCredentials,
    GcsDatastoreConfig,
    LocalDatastoreConfig,
    S3DatastoreConfig,
    azure_account_url,
)
from wharf.storage.network import NO_PRIVATE_HOSTS, HostAllowList

DEFAULT_TIMEOUT_SECONDS = 30.0


def build_filesystem(
    config: DatastoreConfig,
    credentials: DatastoreCredentials,
    *,
    allowed_hosts: HostAllowList = NO_PRIVATE_HOSTS,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> tuple[AbstractFileSystem, str]:
    """The filesystem for ``config`` and the path of the datastore's root in it."""
    if isinstance(config, LocalDatastoreConfig):
        # auto_mkdir: writing runs/x.csv creates runs/, as it does on object stores.
        return LocalFileSystem(auto_mkdir=True), str(config.root.resolve())
    root = _join_root(
        config.container_name if isinstance(config, AzureBlobDatastoreConfig) else config.bucket,
        config.prefix,
    )
    if isinstance(config, S3DatastoreConfig):
        return _build_s3(config, credentials, allowed_hosts, timeout_seconds), root
    if isinstance(config, AzureBlobDatastoreConfig):
        return _build_azure(config, credentials, timeout_seconds), root
    return _build_gcs(config, credentials, timeout_seconds), root


def _join_root(bucket: str, prefix: str) -> str:
    prefix = prefix.strip("/")
    return f"{bucket}/{prefix}" if prefix else bucket


def _build_s3(
    config: S3DatastoreConfig,
    credentials: DatastoreCredentials,
    allowed_hosts: HostAllowList,
    timeout_seconds: float,
) -> AbstractFileSystem:
    s3fs = _import_extra("s3fs", "s3")
    resolver = CheckedResolver(allowed_hosts)
    options: dict[str, Any] = {
        "skip_instance_cache": True,
        "config_kwargs": {
            "connect_timeout": timeout_seconds,
            "read_timeout": timeout_seconds,
            "retries": {"max_attempts": 1, "mode": "standard"},
            "connector_args": {
                "resolver": resolver,
                "socket_factory": resolver.socket_factory,
            },
        },
    }
    key = credentials.get("access_key_id")
    if key is None:
        options["anon"] = True
    else:
        options.update(
            key=key,
            secret=credentials.get("secret_access_key"),
            token=credentials.get("session_token"),
        )
    if config.endpoint_url:
        options["endpoint_url"] = config.endpoint_url
    if config.region:
        options["client_kwargs"] = {"region_name": config.region}
    fs = s3fs.S3FileSystem(**options)
    # s3fs retries five times on its own, botocore again: one slow service would cost many
    # timeouts before the caller hears of it.
    fs.retries = 2
    return fs


def _build_azure(
    config: AzureBlobDatastoreConfig, credentials: DatastoreCredentials, timeout_seconds: float
) -> AbstractFileSystem:
    adlfs = _import_extra("adlfs", "azure")
    # Always a connection string: adlfs builds https:// account URLs itself, which rules
    # out Azurite and private endpoints, and falls back to environment variables
    # whenever a field is missing.
    connection_string = credentials.get("connection_string")
    if connection_string is None:
        parts = [f"BlobEndpoint={azure_account_url(config)}"]
        account_key = credentials.get("account_key")
        sas_token = credentials.get("sas_token")
        if account_key is not None:
            parts += [f"AccountName={config.account_name}", f"AccountKey={account_key}"]
        elif sas_token is not None:
            parts.append(f"SharedAccessSignature={sas_token.lstrip('?')}")
        connection_string = ";".join(parts) + ";"
    seconds = max(1, round(timeout_seconds))
    return adlfs.AzureBlobFileSystem(
        connection_string=connection_string,
        anon=False,
        skip_instance_cache=True,
        connection_timeout=seconds,
        read_timeout=seconds,
    )


def _build_gcs(
    config: GcsDatastoreConfig, credentials: DatastoreCredentials, timeout_seconds: float
) -> AbstractFileSystem:
    # The core class, not the package's default: that one first asks a gRPC control plane
    # for the bucket's layout, a connection that neither the endpoint check nor the
    # timeouts here govern (it waits up to 60 s on an endpoint that never answers).
    gcsfs_core = _import_extra("gcsfs.core", "gcs")
    document = credentials.get("service_account_json")
    options: dict[str, Any] = {
        "token": json.loads(document) if document is not None else "anon",
        "skip_instance_cache": True,
        "requests_timeout": aiohttp.ClientTimeout(
            sock_connect=timeout_seconds, sock_read=timeout_seconds
        ),
    }
    if config.project:
        options["project"] = config.project
    if config.endpoint_url:
        options["endpoint_url"] = config.endpoint_url
    return gcsfs_core.GCSFileSystem(**options)


def _import_extra(module: str, extra: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise Invalid(
            f"this datastore type needs the {module} package: install wharf[{extra}]",
            code="datastore-type-unavailable",
        ) from None

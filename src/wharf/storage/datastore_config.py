"""What a datastore is made of: its type's settings (shown) and its credentials (never shown).

The settings are plain data that the API may return. The credentials are write-only:
every field is a :class:`pydantic.SecretStr`, so ``repr``, ``str`` and JSON dumps show
``**********``; :meth:`DatastoreCredentials.reveal` gives the plaintext for encryption at
rest and for the storage client, nothing else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, ValidationError

from wharf.errors import Invalid
from wharf.storage.network import NO_PRIVATE_HOSTS, HostAllowList, check_url
from wharf.storage.paths import find_path_problem, is_within

DatastoreType = Literal["local", "s3", "azure_blob", "gcs"]

_S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_GCS_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")
_AZURE_ACCOUNT = re.compile(r"[a-z0-9]{3,24}")
AZURE_ENDPOINT = "core.windows.net"
_AZURE_CONTAINER = re.compile(r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]")


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class LocalDatastoreConfig(_Settings):
    """A folder on the server, inside one of the admin's allowed roots."""

    type: Literal["local"] = "local"
    root: Path
    """Absolute path of the datastore's folder."""


class S3DatastoreConfig(_Settings):
    """An S3 bucket (AWS or any S3-compatible server), optionally under a prefix."""

    type: Literal["s3"] = "s3"
    bucket: str
    prefix: str = ""
    """Folder inside the bucket that is the datastore's root; empty for the whole bucket."""
    endpoint_url: str | None = None
    """For S3-compatible servers (MinIO, Ceph, moto); unset means AWS."""
    region: str | None = None
    """AWS region of the bucket; unset lets the client find it."""


class AzureBlobDatastoreConfig(_Settings):
    """An Azure Blob Storage container, named as Azure ML names it."""

    type: Literal["azure_blob"] = "azure_blob"
    account_name: str
    container_name: str
    prefix: str = ""
    """Folder inside the container that is the datastore's root; empty for all of it."""
    endpoint: str = AZURE_ENDPOINT
    """Storage endpoint suffix (another cloud: ``core.chinacloudapi.cn``)."""
    protocol: Literal["https", "http"] = "https"
    account_url: str | None = None
    """The full blob service URL, overriding ``protocol``/``account_name``/``endpoint``
    (Azurite: ``http://127.0.0.1:10000/devstoreaccount1``)."""


class GcsDatastoreConfig(_Settings):
    """A Google Cloud Storage bucket, optionally under a prefix."""

    type: Literal["gcs"] = "gcs"
    bucket: str
    prefix: str = ""
    project: str | None = None
    endpoint_url: str | None = None
    """For GCS emulators; unset means Google."""


DatastoreConfig: TypeAlias = Annotated[
    LocalDatastoreConfig | S3DatastoreConfig | AzureBlobDatastoreConfig | GcsDatastoreConfig,
    Field(discriminator="type"),
]
_CONFIG_ADAPTER: TypeAdapter[DatastoreConfig] = TypeAdapter(DatastoreConfig)


class DatastoreCredentials(BaseModel):
    """The secret half of a datastore. Which fields a type accepts:

    - ``s3``: ``access_key_id`` and ``secret_access_key``, optionally ``session_token``
    - ``azure_blob``: one of ``account_key``, ``sas_token``, ``connection_string``
    - ``gcs``: ``service_account_json`` (the key file's text)
    - ``local``: none

    No credentials means anonymous access (public buckets and containers); the server's
    own ambient credentials are never used on a datastore's behalf.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_key: SecretStr | None = None
    sas_token: SecretStr | None = None
    connection_string: SecretStr | None = None
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    service_account_json: SecretStr | None = None

    def provided_fields(self) -> list[str]:
        """Names of the fields that hold a value: what an API may say is "set"."""
        return [name for name, value in self if isinstance(value, SecretStr) and value]

    def reveal(self) -> dict[str, str]:
        """The plaintext of every set field. Only for encryption and the storage client."""
        return {
            name: value.get_secret_value()
            for name, value in self
            if isinstance(value, SecretStr) and value
        }

    def get(self, name: str) -> str | None:
        """The plaintext of one field, or None when it is unset or empty."""
        value = getattr(self, name)
        return value.get_secret_value() if isinstance(value, SecretStr) and value else None


_ACCEPTED_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "local": (),
    "s3": ("access_key_id", "secret_access_key", "session_token"),
    "azure_blob": ("account_key", "sas_token", "connection_string"),
    "gcs": ("service_account_json",),
}


def parse_datastore_config(data: dict[str, Any]) -> DatastoreConfig:
    """The config that ``data`` (a stored or submitted mapping) describes, or Invalid."""
    try:
        return _CONFIG_ADAPTER.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'config'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
        raise Invalid(f"datastore settings are not valid: {problems}") from None


def validate_datastore_config(
    config: DatastoreConfig,
    credentials: DatastoreCredentials,
    *,
    allowed_local_roots: Sequence[Path],
    allowed_hosts: HostAllowList = NO_PRIVATE_HOSTS,
) -> None:
    """Refuse settings that break a rule, with a message that never quotes a secret.

    A local root must be absolute and, with symbolic links resolved, inside one of
    ``allowed_local_roots``. An ``endpoint_url`` or ``account_url`` must pass the
    private-network check (:func:`wharf.storage.network.check_url`), with ``allowed_hosts``
    the admin's allow-list; it runs at every open, so a name that later resolves to a private
    address is refused then.
    """
    _check_credential_fields(config.type, credentials)
    if isinstance(config, LocalDatastoreConfig):
        _check_local_root(config.root, allowed_local_roots)
    elif isinstance(config, S3DatastoreConfig):
        _check_name(
            "bucket", config.bucket, _S3_BUCKET, "3-63 lower-case letters, digits, '.', '-'"
        )
        _check_prefix(config.prefix)
        _check_endpoint("endpoint_url", config.endpoint_url, allowed_hosts)
        _check_s3_credentials(credentials)
    elif isinstance(config, AzureBlobDatastoreConfig):
        _check_name(
            "account_name",
            config.account_name,
            _AZURE_ACCOUNT,
            "3-24 lower-case letters and digits",
        )
        _check_name(
            "container_name",
            config.container_name,
            _AZURE_CONTAINER,
            "3-63 lower-case letters, digits and single dashes, a letter or digit at each end",
        )
        _check_prefix(config.prefix)
        _check_endpoint("account_url", config.account_url, allowed_hosts)
        if config.account_url is None and config.endpoint != AZURE_ENDPOINT:
            _check_endpoint("endpoint", azure_account_url(config), allowed_hosts)
        _check_azure_credentials(credentials, allowed_hosts)
    else:
        _check_name(
            "bucket", config.bucket, _GCS_BUCKET, "3-222 lower-case letters, digits, '.', '-', '_'"
        )
        _check_prefix(config.prefix)
        _check_endpoint("endpoint_url", config.endpoint_url, allowed_hosts)
        _check_gcs_credentials(credentials)


def _check_credential_fields(datastore_type: str, credentials: DatastoreCredentials) -> None:
    accepted = _ACCEPTED_CREDENTIALS[datastore_type]
    unexpected = [name for name in credentials.provided_fields() if name not in accepted]
    if unexpected:
        allowed = ", ".join(accepted) or "none"
        raise Invalid(
            f"a {datastore_type} datastore does not take {', '.join(unexpected)} "
            f"(credentials it takes: {allowed})",
            field="credentials",
        )


def _check_local_root(root: Path, allowed_roots: Sequence[Path]) -> None:
    if not root.is_absolute():
        raise Invalid(f"local datastore root {str(root)!r} must be an absolute path", field="root")
    resolved = root.resolve()
    if not any(is_within(resolved, allowed.resolve()) for allowed in allowed_roots):
        shown = ", ".join(str(allowed) for allowed in allowed_roots) or "none"
        raise Invalid(
            f"local datastore root {str(root)!r} is outside the roots local datastores may use "
            f"({shown}); an admin can allow more with WHARF_LOCAL_DATASTORE_ROOTS",
            field="root",
        )


def _check_name(field: str, value: str, pattern: re.Pattern[str], rule: str) -> None:
    if not pattern.fullmatch(value):
        raise Invalid(f"{field} {value!r} is not valid: use {rule}", field=field)


def _check_prefix(prefix: str) -> None:
    problem = find_path_problem(prefix)
    if problem is not None:
        raise Invalid(f"prefix {prefix!r} is not valid: {problem}", field="prefix")


def _check_endpoint(field: str, url: str | None, allowed_hosts: HostAllowList) -> None:
    if url is None:
        return
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it validates the port
    except ValueError:
        raise Invalid(f"{field} is not a valid URL", field=field) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"{field} must be an http:// or https:// URL with a host", field=field)
    # Keep secrets out of the settings, which are shown to anyone who may read datastores.
    if parts.username or parts.password or parts.query:
        raise Invalid(
            f"{field} must not carry credentials or a query; put them in the credentials",
            field=field,
        )
    try:
        check_url(url, allowed=allowed_hosts, schemes=("http", "https"), what=field)
    except Invalid as exc:
        raise Invalid(exc.detail, code=exc.code, field=field) from None


def _check_s3_credentials(credentials: DatastoreCredentials) -> None:
    has_id = credentials.get("access_key_id") is not None
    has_secret = credentials.get("secret_access_key") is not None
    if has_id != has_secret:
        raise Invalid(
            "an s3 datastore needs both access_key_id and secret_access_key, or neither",
            field="credentials",
        )
    if credentials.get("session_token") is not None and not has_id:
        raise Invalid(
            "session_token needs access_key_id and secret_access_key", field="credentials"
        )


def azure_account_url(config: AzureBlobDatastoreConfig) -> str:
    """The blob service URL of an azure_blob datastore."""
    if config.account_url:
        return config.account_url.rstrip("/")
    return f"{config.protocol}://{config.account_name}.blob.{config.endpoint}"


def _check_azure_credentials(
    credentials: DatastoreCredentials, allowed_hosts: HostAllowList
) -> None:
    given = credentials.provided_fields()
    if len(given) > 1:
        raise Invalid(
            f"an azure_blob datastore takes one of account_key, sas_token, connection_string, "
            f"not {' and '.join(given)}",
            field="credentials",
        )
    connection_string = credentials.get("connection_string")
    if connection_string is not None:
        keys = {item.partition("=")[0].strip().lower() for item in connection_string.split(";")}
        if not keys & {"blobendpoint", "accountname"}:
            raise Invalid(
                "connection_string is not an Azure Storage connection string "
                "(it has neither AccountName nor BlobEndpoint)",
                field="credentials",
            )
        for item in connection_string.split(";"):
            key, _, value = item.partition("=")
            if key.strip().lower() == "blobendpoint" and value.strip():
                _check_endpoint("connection_string BlobEndpoint", value.strip(), allowed_hosts)


def _check_gcs_credentials(credentials: DatastoreCredentials) -> None:
    text = credentials.get("service_account_json")
    if text is None:
        return
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    # Never quote the document or the parser's excerpt of it: it holds a private key.
    if not isinstance(document, dict) or "type" not in document:
        raise Invalid(
            "service_account_json is not a Google service-account key file (JSON with a "
            "'type' field)",
            field="credentials",
        )

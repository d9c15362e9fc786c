"""An opened datastore: an fsspec filesystem and a root that no path may leave."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fsspec import AbstractFileSystem  # type: ignore[import-untyped]
from pydantic import ValidationError

from wharf.errors import Invalid
from wharf.storage.backend_errors import expand_secret_forms, translate_backend_errors
from wharf.storage.datastore_config import (
    DatastoreConfig,
    DatastoreCredentials,
    LocalDatastoreConfig,
    parse_datastore_config,
    validate_datastore_config,
)
from wharf.storage.filesystems import DEFAULT_TIMEOUT_SECONDS, build_filesystem
from wharf.storage.network import NO_PRIVATE_HOSTS, HostAllowList
from wharf.storage.paths import check_local_containment, is_within, join_under_root


class OpenDatastore:
    """A datastore ready to use. Paths given to it are relative to its root.

    ``fs`` and :meth:`resolve` are for code that streams with fsspec itself (the batch
    engine); wrap such use in :meth:`translate_errors` so failures carry no secret.
    """

    def __init__(
        self,
        *,
        name: str,
        config: DatastoreConfig,
        fs: AbstractFileSystem,
        root: str,
        secret_forms: Sequence[str],
    ) -> None:
        self.name = name
        self.config = config
        self.fs = fs
        self.root = root
        self._secret_forms = list(secret_forms)
        self._local_root = Path(root) if isinstance(config, LocalDatastoreConfig) else None

    def __repr__(self) -> str:
        return f"OpenDatastore(name={self.name!r}, type={self.config.type!r}, root={self.root!r})"

    def resolve(self, path: str) -> str:
        """The full filesystem path of ``path``, refusing any way out of the root.

        Refused with :class:`Invalid`: absolute paths, ``..`` and ``.`` segments, and in a
        local datastore, paths that a symbolic link leads outside the root.
        """
        full = join_under_root(self.root, path)
        if self._local_root is not None:
            check_local_containment(self._local_root, full, path)
        return full

    @contextmanager
    def translate_errors(self, path: str = "") -> Iterator[None]:
        """Turn backend failures inside the block into NotFound/Invalid without secrets."""
        with translate_backend_errors(
            datastore=self.name, path=path, secret_forms=self._secret_forms
        ):
            yield

    def list_paths(self, path: str = "", *, recursive: bool = False) -> list[str]:
        """Entries under ``path``, relative to the root and sorted; folders end with ``/``.

        ``recursive`` lists every file below instead (folders themselves are left out).
        In a local datastore, entries whose symbolic links lead out of the root are left out,
        and recursive listings do not follow links to folders.
        """
        with self.translate_errors(path):
            full = self.resolve(path)
            if recursive:
                names = [(name, False) for name in self.fs.find(full)]
                if self._local_root is not None:
                    # fsspec does not descend into linked folders and lists the link itself
                    # as if it were a file: leave it out rather than mislead.
                    names = [(name, False) for name, _ in names if not Path(name).is_dir()]
            else:
                names = [
                    (entry["name"], self._is_folder(entry))
                    for entry in self.fs.ls(full, detail=True)
                ]
        relative = []
        for name, is_folder in names:
            inside = self._relative(name)
            if inside is None or inside == "":
                continue
            relative.append(inside + "/" if is_folder else inside)
        return sorted(relative)

    def read_bytes(self, path: str) -> bytes:
        """The content of the file at ``path``."""
        with self.translate_errors(path):
            content: bytes = self.fs.cat_file(self.resolve(path))
        return content

    def write_bytes(self, path: str, data: bytes) -> None:
        """Create or replace the file at ``path`` (folders on the way are created)."""
        with self.translate_errors(path):
            self.fs.pipe_file(self.resolve(path), data)

    def exists(self, path: str) -> bool:
        """Whether a file or folder exists at ``path``."""
        with self.translate_errors(path):
            found: bool = self.fs.exists(self.resolve(path))
        return found

    def _is_folder(self, entry: dict[str, Any]) -> bool:
        if self._local_root is not None and entry.get("islink"):
            # fsspec lists a local symbolic link as "other"; what it points at decides.
            return Path(entry["name"]).is_dir()
        return bool(entry["type"] == "directory")

    def _relative(self, name: str) -> str | None:
        """``name`` (as the filesystem lists it) relative to the root, or None if outside."""
        base = self.fs._strip_protocol(self.root).rstrip("/")
        name = self.fs._strip_protocol(name).rstrip("/")
        if self._local_root is not None:
            real = Path(name).resolve()
            if not is_within(real, self._local_root):
                return None
        if name == base:
            return ""
        if not name.startswith(base + "/"):
            return None
        return str(name[len(base) + 1 :])


def load_datastore_config(
    datastore_type: str,
    settings: Mapping[str, Any],
    credentials: Mapping[str, str] | DatastoreCredentials | None,
) -> tuple[DatastoreConfig, DatastoreCredentials]:
    """Typed settings and credentials from their stored or submitted form, or Invalid.

    ``settings`` is the non-secret mapping (``{"root": ...}``, ``{"bucket": ...}``);
    ``credentials`` the plaintext secret mapping, or None for none.
    """
    config = parse_datastore_config({**settings, "type": datastore_type})
    if isinstance(credentials, DatastoreCredentials):
        return config, credentials
    try:
        secrets = DatastoreCredentials.model_validate(dict(credentials or {}))
    except ValidationError as exc:
        # Name the fields only: the input values are the secrets themselves.
        fields = ", ".join(
            ".".join(str(part) for part in error["loc"]) or "credentials"
            for error in exc.errors(include_input=False, include_url=False)
        )
        raise Invalid(
            f"datastore credentials are not valid (check {fields}); accepted fields: "
            f"{', '.join(DatastoreCredentials.model_fields)}",
            field="credentials",
        ) from None
    return config, secrets


def validate_datastore_settings(
    datastore_type: str,
    settings: Mapping[str, Any],
    credentials: Mapping[str, str] | DatastoreCredentials | None,
    *,
    allowed_local_roots: Sequence[Path],
    allowed_hosts: HostAllowList = NO_PRIVATE_HOSTS,
) -> dict[str, Any]:
    """Check a datastore's settings and credentials; return the settings to store (JSON,
    defaults filled in, without ``type``). Raises Invalid, never quoting a credential."""
    config, secrets = load_datastore_config(datastore_type, settings, credentials)
    validate_datastore_config(
        config, secrets, allowed_local_roots=allowed_local_roots, allowed_hosts=allowed_hosts
    )
    return config.model_dump(mode="json", exclude={"type"})


def open_datastore(
    datastore_type: str,
    settings: Mapping[str, Any],
    credentials: Mapping[str, str] | DatastoreCredentials | None,
    *,
    allowed_local_roots: Sequence[Path],
    allowed_hosts: HostAllowList = NO_PRIVATE_HOSTS,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    name: str = "datastore",
) -> OpenDatastore:
    """Check a stored datastore and open it (see :func:`open_datastore_config`)."""
    config, secrets = load_datastore_config(datastore_type, settings, credentials)
    return open_datastore_config(
        config,
        secrets,
        allowed_local_roots=allowed_local_roots,
        allowed_hosts=allowed_hosts,
        timeout_seconds=timeout_seconds,
        name=name,
    )


def open_datastore_config(
    config: DatastoreConfig,
    credentials: DatastoreCredentials,
    *,
    allowed_local_roots: Sequence[Path],
    allowed_hosts: HostAllowList = NO_PRIVATE_HOSTS,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    name: str = "datastore",
) -> OpenDatastore:
    """Check ``config`` and open it. No request is made yet; the first use may fail with
    NotFound (a missing bucket or container) or Invalid (refused credentials, unreachable
    service), never with a message that holds a credential.

    The checks run at every open: a local root must still be inside ``allowed_local_roots``
    and an endpoint must still pass the private-network check with ``allowed_hosts``.
    ``timeout_seconds`` bounds connecting to the storage service and each read from it.
    A local datastore's root folder is created if missing (it is inside an allowed root).
    """
    validate_datastore_config(
        config, credentials, allowed_local_roots=allowed_local_roots, allowed_hosts=allowed_hosts
    )
    secret_forms = expand_secret_forms(credentials.reveal().values())
    with translate_backend_errors(datastore=name, path="", secret_forms=secret_forms):
        fs, root = build_filesystem(
            config, credentials, allowed_hosts=allowed_hosts, timeout_seconds=timeout_seconds
        )
        if isinstance(config, LocalDatastoreConfig):
            Path(root).mkdir(parents=True, exist_ok=True)
    return OpenDatastore(name=name, config=config, fs=fs, root=root, secret_forms=secret_forms)

"""Operation groups for datastores, data assets and models, with streamed uploads."""

from __future__ import annotations

import builtins
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import quote

from wharf.schemas.storage import Asset, Datastore, StoredFile
from wharf.sdk._entities import Data, Model
from wharf.sdk._errors import InvalidRequestError

if TYPE_CHECKING:
    from wharf.sdk._client import Client

CHUNK_SIZE = 1024 * 1024
Entity = TypeVar("Entity", Data, Model)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
Progress = Callable[[int], None]


def is_local_path(path: str) -> bool:
    """Whether ``path`` should be uploaded: it exists here, or has no URI scheme."""
    return os.path.exists(path) or not _SCHEME.match(path)


def folder_files(folder: Path, *, skip: Callable[[str], bool] | None = None) -> builtins.list[Path]:
    """The files an upload of ``folder`` sends, sorted, without following any link out of it.

    A symbolic link to a file inside the folder is sent as that file; a link to a folder is
    not descended into (its target, inside the folder, is sent once under its own name). A
    link whose target lies outside the folder, or is missing, refuses the upload: following
    it could send any file the user can read, such as ``~/.ssh`` keys, without their knowing.
    Files and folders whose name ``skip`` accepts are left out, unread.
    """
    root = folder.resolve()
    found: builtins.list[Path] = []
    for current, folders, names in os.walk(folder, followlinks=False):
        if skip is not None:
            folders[:] = [name for name in folders if not skip(name)]
            names = [name for name in names if not skip(name)]
        for name in [*folders, *names]:
            path = Path(current, name)
            if path.is_symlink():
                _check_link(path, folder, root)
                if path.is_dir():
                    continue
            if name in names and path.is_file():
                found.append(path)
    return sorted(found)


def _check_link(path: Path, folder: Path, root: Path) -> None:
    target = path.resolve()
    if target.is_relative_to(root) and target.exists():
        return
    where = "is missing" if not target.exists() else f"is {target}, outside {folder}"
    raise InvalidRequestError(
        422,
        "invalid",
        f"{path} is a symbolic link whose target {where}: uploads never follow a link out of "
        "the folder being uploaded; copy the file into the folder or remove the link",
    )


def _read_chunks(path: Path, progress: Progress | None) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            if progress:
                progress(len(chunk))
            yield chunk


class _Operations:
    def __init__(self, client: Client) -> None:
        self._client = client


class DatastoreOperations(_Operations):
    """``client.datastores``."""

    def create(self, name: str, type: str, **fields: Any) -> Datastore:
        """Create a datastore. ``fields``: type-specific settings and ``credentials``."""
        body = {"name": name, "type": type, **fields}
        path = self._client.workspace_path("/datastores")
        return Datastore.model_validate(self._client._request("POST", path, json=body))

    def create_or_update(self, spec: dict[str, Any]) -> Datastore:
        """Create a datastore from a dict shaped like its YAML file."""
        spec = {k: v for k, v in spec.items() if k != "$schema"}
        return self.create(spec.pop("name"), spec.pop("type"), **spec)

    def list(self) -> builtins.list[Datastore]:
        path = self._client.workspace_path("/datastores")
        return [Datastore.model_validate(d) for d in self._client._request("GET", path)]

    def get(self, name: str) -> Datastore:
        path = self._client.workspace_path(f"/datastores/{name}")
        return Datastore.model_validate(self._client._request("GET", path))

    def get_default(self) -> Datastore:
        """The workspace's default datastore (where local files are uploaded)."""
        for datastore in self.list():
            if datastore.is_default:
                return datastore
        raise InvalidRequestError(404, "not-found", "the workspace has no default datastore")

    def delete(self, name: str) -> None:
        self._client._request("DELETE", self._client.workspace_path(f"/datastores/{name}"))

    def list_files(self, name: str, prefix: str = "") -> builtins.list[StoredFile]:
        path = self._client.workspace_path(f"/datastores/{name}/files")
        found = self._client._request("GET", path, params={"prefix": prefix})
        return [StoredFile.model_validate(f) for f in found]

    def upload(
        self,
        local_path: str | Path,
        *,
        datastore: str | None = None,
        target_path: str | None = None,
        progress: Progress | None = None,
    ) -> str:
        """Upload a file or a folder, streamed; return its ``wharf://`` reference.

        The default target is ``LocalUpload/<random>/<name>`` on the default datastore, so
        uploads never overwrite each other.
        """
        source = Path(local_path)
        if not source.exists():
            raise InvalidRequestError(
                422, "invalid", f"local path {str(local_path)!r} does not exist"
            )
        store = datastore or self.get_default().name
        target = (target_path or f"LocalUpload/{uuid.uuid4().hex}/{source.resolve().name}").strip(
            "/"
        )
        files = [source] if source.is_file() else folder_files(source)
        for file in files:
            relative = (
                target if source.is_file() else f"{target}/{file.relative_to(source).as_posix()}"
            )
            url = self._client.workspace_path(f"/datastores/{store}/files/{quote(relative)}")
            self._client._stream_upload(url, _read_chunks(file, progress))
        suffix = "" if source.is_file() else "/"
        return f"wharf://datastores/{store}/paths/{target}{suffix}"


def upload_size(local_path: str | Path) -> int:
    """Bytes an upload of ``local_path`` will send (for progress bars)."""
    source = Path(local_path)
    if source.is_file():
        return source.stat().st_size
    return sum(p.stat().st_size for p in folder_files(source))


class _AssetOperations(_Operations, Generic[Entity]):
    """What data assets and models share: versions, ``latest``, listing, archiving."""

    _collection = ""
    _entity: type[Entity]

    def get(self, name: str, version: str | None = None, *, label: str | None = None) -> Entity:
        """A version by number, or by ``label="latest"`` (the default)."""
        return self._entity.model_validate(self._get(name, version, label))

    def list(
        self, name: str | None = None, *, include_archived: bool = False
    ) -> builtins.list[Entity]:
        """Versions of ``name`` (newest first), or the latest version of every asset."""
        if name is None:
            return [
                self.get(a.name)
                for a in self.list_assets(include_archived=include_archived)
                if a.latest_version is not None
            ]
        found = self._client._request(
            "GET", self._versions_path(name), params={"archived": include_archived}
        )
        return [self._entity.model_validate(v) for v in found]

    def _versions_path(self, name: str) -> str:
        return self._client.workspace_path(f"/{self._collection}/{name}/versions")

    def _get(self, name: str, version: str | None, label: str | None) -> dict[str, Any]:
        if version and label:
            raise InvalidRequestError(422, "invalid", "give a version or a label, not both")
        which = version or label or "latest"
        result: dict[str, Any] = self._client._request(
            "GET", f"{self._versions_path(name)}/{quote(which)}"
        )
        return result

    def list_assets(self, *, include_archived: bool = False) -> builtins.list[Asset]:
        path = self._client.workspace_path(f"/{self._collection}")
        found = self._client._request("GET", path, params={"archived": include_archived})
        return [Asset.model_validate(a) for a in found]

    def archive(self, name: str, version: str | None = None) -> None:
        path = self._client.workspace_path(f"/{self._collection}/{name}/archive")
        self._client._request("POST", path, params={"version": version} if version else None)

    def restore(self, name: str, version: str | None = None) -> None:
        path = self._client.workspace_path(f"/{self._collection}/{name}/restore")
        self._client._request("POST", path, params={"version": version} if version else None)

    def _upload_if_local(self, path: str, progress: Progress | None) -> str:
        if is_local_path(path):
            return self._client.datastores.upload(path, progress=progress)
        return path


class DataOperations(_AssetOperations[Data]):
    """``client.data``: versioned data assets."""

    _collection = "data"
    _entity = Data

    def create_or_update(self, data: Data, *, progress: Progress | None = None) -> Data:
        """Register a version; a local ``path`` is uploaded to the default datastore first."""
        body = {
            "version": data.version,
            "type": data.type,
            "path": self._upload_if_local(data.path, progress),
            "description": data.description,
            "tags": data.tags,
        }
        created = self._client._request("POST", self._versions_path(data.name), json=body)
        return Data.model_validate(created)


class ModelOperations(_AssetOperations[Model]):
    """``client.models``: versioned models (a folder of files and a flavor)."""

    _collection = "models"
    _entity = Model

    def create_or_update(self, model: Model, *, progress: Progress | None = None) -> Model:
        """Register a version; a local ``path`` is uploaded to the default datastore first."""
        body = {
            "version": model.version,
            "path": self._upload_if_local(model.path, progress),
            "flavor": model.flavor,
            "description": model.description,
            "tags": model.tags,
        }
        created = self._client._request("POST", self._versions_path(model.name), json=body)
        return Model.model_validate(created)

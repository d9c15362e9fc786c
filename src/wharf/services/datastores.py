"""Datastores: named storage roots of a workspace, with credentials encrypted at rest.

Credentials are write-only: they go in with ``create_datastore`` and come out only inside
:func:`open_named_datastore`, to build a filesystem. No return value, log line or error text
carries them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from wharf.config import Settings
from wharf.errors import Conflict, Invalid, NotFound
from wharf.storage import datastores as storage
from wharf.storage.datastore_config import LocalDatastoreConfig
from wharf.storage.references import DatastorePathReference
from wharf.store.models import AssetContainer, AssetVersion, Datastore, Workspace

if TYPE_CHECKING:
    from wharf.services.platform import Platform

DEFAULT_DATASTORE = "default"
DATASTORE_TYPES = ("local", "s3", "azure_blob", "gcs")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,254}$")


@dataclass(frozen=True)
class DatastoreSpec:
    """What a caller gives to create a datastore."""

    name: str
    type: str
    description: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    credentials: dict[str, str] | None = field(default=None, repr=False)


def default_datastore_root(settings: Settings, workspace_name: str) -> Path:
    """Each workspace's ``default`` datastore: a folder of its own under the data dir."""
    return settings.default_datastore_dir / workspace_name


def ensure_default_datastore(session: Session, settings: Settings, workspace: Workspace) -> None:
    """Give the workspace its local ``default`` datastore if it has none."""
    exists = session.scalar(
        select(Datastore.id).where(
            Datastore.workspace_id == workspace.id, Datastore.is_default.is_(True)
        )
    )
    if exists is not None:
        return
    root = default_datastore_root(settings, workspace.name)
    root.mkdir(parents=True, exist_ok=True)
    session.add(
        Datastore(
            workspace_id=workspace.id,
            name=DEFAULT_DATASTORE,
            type="local",
            description="the workspace's default datastore, under Wharf's data dir",
            settings={"root": str(root)},
            is_default=True,
        )
    )
    session.flush()


def create_datastore(
    session: Session,
    platform: Platform,
    workspace: Workspace,
    spec: DatastoreSpec,
    *,
    created_by: str | None,
) -> Datastore:
    """Create a datastore after checking its settings (local roots must be allowed)."""
    if not _NAME.fullmatch(spec.name):
        raise Invalid(
            f"datastore name {spec.name!r} is not valid: use up to 255 letters, digits, '-' or "
            "'_', starting with a letter",
            field="name",
        )
    if spec.type not in DATASTORE_TYPES:
        raise Invalid(
            f"datastore type {spec.type!r} is not one of {', '.join(DATASTORE_TYPES)}",
            field="type",
        )
    settings = storage.validate_datastore_settings(
        spec.type,
        spec.settings,
        spec.credentials,
        allowed_local_roots=platform.settings.effective_local_datastore_roots,
    )
    if _find(session, workspace, spec.name) is not None:
        raise Conflict(f"datastore {spec.name!r} already exists in workspace {workspace.name!r}")
    datastore = Datastore(
        workspace_id=workspace.id,
        name=spec.name,
        type=spec.type,
        description=spec.description,
        settings=settings,
        credentials_ciphertext=(
            platform.secrets.encrypt(json.dumps(spec.credentials)) if spec.credentials else None
        ),
        created_by=created_by,
    )
    session.add(datastore)
    session.flush()
    return datastore


def _find(session: Session, workspace: Workspace, name: str) -> Datastore | None:
    return session.scalar(
        select(Datastore).where(Datastore.workspace_id == workspace.id, Datastore.name == name)
    )


def read_datastore(session: Session, workspace: Workspace, name: str) -> Datastore:
    datastore = _find(session, workspace, name)
    if datastore is None:
        raise NotFound(f"datastore {name!r} does not exist in workspace {workspace.name!r}")
    return datastore


def list_datastores(session: Session, workspace: Workspace) -> list[Datastore]:
    return list(
        session.scalars(
            select(Datastore).where(Datastore.workspace_id == workspace.id).order_by(Datastore.name)
        )
    )


def delete_datastore(session: Session, workspace: Workspace, name: str) -> None:
    """Delete a datastore that no asset points into; its files are left untouched."""
    datastore = read_datastore(session, workspace, name)
    if datastore.is_default:
        raise Conflict(f"datastore {name!r} is the workspace's default and cannot be deleted")
    prefix = f"wharf://datastores/{name}/"
    users = session.scalars(
        select(AssetContainer.name)
        .join(AssetVersion, AssetVersion.container_id == AssetContainer.id)
        .where(AssetContainer.workspace_id == workspace.id, AssetVersion.path.startswith(prefix))
        .distinct()
        .limit(5)
    ).all()
    if users:
        raise Conflict(
            f"datastore {name!r} is still used by {', '.join(sorted(users))}; archive or move "
            "those assets first"
        )
    session.delete(datastore)
    session.flush()


def open_datastore(platform: Platform, datastore: Datastore) -> storage.OpenDatastore:
    """A filesystem view of the datastore, with its credentials decrypted for this use only."""
    credentials = (
        json.loads(platform.secrets.decrypt(datastore.credentials_ciphertext))
        if datastore.credentials_ciphertext
        else None
    )
    return storage.open_datastore(
        datastore.type,
        datastore.settings,
        credentials,
        allowed_local_roots=platform.settings.effective_local_datastore_roots,
        name=datastore.name,
    )


def open_named_datastore(
    session: Session, platform: Platform, workspace: Workspace, name: str
) -> storage.OpenDatastore:
    return open_datastore(platform, read_datastore(session, workspace, name))


def check_path_kind(
    store: storage.OpenDatastore, reference: DatastorePathReference, *, expect: str
) -> None:
    """The path exists and is a file (``uri_file``) or a folder (``uri_folder``)."""
    full = store.resolve(reference.path)
    shown = f"wharf://datastores/{reference.datastore}/paths/{reference.path}"
    with store.translate_errors(reference.path):
        if not store.fs.exists(full):
            raise Invalid(f"{shown} does not exist", field="path")
        is_folder = store.fs.isdir(full)
    if expect == "uri_file" and is_folder:
        raise Invalid(f"{shown} is a folder; use type uri_folder", field="path")
    if expect == "uri_folder" and not is_folder:
        raise Invalid(f"{shown} is a file; use type uri_file", field="path")


def open_upload(store: storage.OpenDatastore, path: str) -> tuple[str, BinaryIO]:
    """A writable file at ``path`` (folders made as needed): its full path and handle.

    The caller streams into it and, if the upload breaks off, calls :func:`discard_upload`, so
    a half-written file never stays behind.
    """
    full = store.resolve(path)
    with store.translate_errors(path):
        if isinstance(store.config, LocalDatastoreConfig):  # object stores have no folders
            store.fs.makedirs(full.rsplit("/", 1)[0], exist_ok=True)
        handle: BinaryIO = store.fs.open(full, "wb")
    return full, handle


def discard_upload(store: storage.OpenDatastore, full_path: str) -> None:
    """Remove what a broken-off upload left."""
    with store.translate_errors():
        if store.fs.exists(full_path):
            store.fs.rm(full_path)


def list_files(store: storage.OpenDatastore, prefix: str) -> list[str]:
    """Files below ``prefix`` (recursively), relative to the root; ``[prefix]`` for a file."""
    if not store.exists(prefix):
        return []
    with store.translate_errors(prefix):
        if store.fs.isfile(store.resolve(prefix)):
            return [prefix]
    return store.list_paths(prefix, recursive=True)

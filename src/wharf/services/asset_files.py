"""The files of a data-asset or model version are written once: frozen, then never replaced.

When a version is registered on a local datastore, its files become read-only (0400) and its
folders non-writable (0500), so nothing that runs as the server's user overwrites them by
accident. Wharf itself refuses every write into a version's path, on any datastore type, by
looking the path up among the workspace's versions and, on a local datastore, by refusing to
replace a read-only file (which also holds for a server that runs as root, and for a second
datastore whose root reaches the same folder).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from wharf.errors import Conflict
from wharf.storage.datastore_config import LocalDatastoreConfig
from wharf.storage.datastores import OpenDatastore
from wharf.storage.references import DatastorePathReference, parse_reference
from wharf.store.models import AssetContainer, AssetVersion, Workspace

FROZEN_FILE_MODE = 0o400
FROZEN_FOLDER_MODE = 0o500


def freeze_version_files(store: OpenDatastore, reference: str) -> None:
    """Make the files of a version (a ``wharf://`` reference on ``store``) read-only."""
    parsed = parse_reference(reference)
    if not isinstance(parsed, DatastorePathReference):
        return
    if not isinstance(store.config, LocalDatastoreConfig):
        return  # object stores have no modes; the path check below guards them
    top = Path(store.resolve(parsed.path))
    if top.is_symlink() or not top.exists():
        return
    if top.is_file():
        top.chmod(FROZEN_FILE_MODE)
        return
    # Bottom-up, so that a folder is closed only after what is inside it. Links are left
    # alone: chmod would change what they point at.
    for folder, _, files in os.walk(top, topdown=False):
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                path.chmod(FROZEN_FILE_MODE)
        if Path(folder) != Path(store.root) and not Path(folder).is_symlink():
            Path(folder).chmod(FROZEN_FOLDER_MODE)


def check_not_version_path(
    session: Session, workspace: Workspace, store: OpenDatastore, path: str
) -> None:
    """Refuse a write to ``path`` on ``store`` that would change an asset version's files."""
    prefix = f"wharf://datastores/{store.name}/paths/"
    rows = session.execute(
        select(AssetContainer.kind, AssetContainer.name, AssetVersion.version, AssetVersion.path)
        .join(AssetVersion, AssetVersion.container_id == AssetContainer.id)
        .where(AssetContainer.workspace_id == workspace.id, AssetVersion.path.startswith(prefix))
    )
    target = path.strip("/")
    for kind, name, version, stored in rows:
        inner = stored[len(prefix) :].strip("/")
        if not inner or target == inner or target.startswith(inner + "/"):
            noun = "data asset" if kind == "data" else "model"
            raise Conflict(
                f"wharf://datastores/{store.name}/paths/{path} belongs to {noun} {name!r} "
                f"version {version!r}, whose files are written once and never replaced; "
                "write elsewhere and register a new version",
                code="immutable-version",
            )
    check_not_read_only(store, path)


def check_not_read_only(store: OpenDatastore, path: str) -> None:
    """On a local datastore, refuse to replace a read-only file (a frozen version's)."""
    if not isinstance(store.config, LocalDatastoreConfig):
        return
    full = Path(store.resolve(path))
    try:
        mode = full.lstat().st_mode
    except FileNotFoundError:
        return
    if not mode & stat.S_IWUSR:
        raise Conflict(
            f"wharf://datastores/{store.name}/paths/{path} is read-only (a data asset or model "
            "version's file); write elsewhere",
            code="immutable-version",
        )

"""Data assets and models: what their paths may point at, on top of versioned assets.

A path is stored in its canonical Wharf spelling, so ``azureml://datastores/x/paths/y`` and
``wharf://datastores/x/paths/y`` name the same thing. The server never reads a path of its own
machine on a caller's behalf: local paths are uploaded by the CLI or SDK first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from wharf.errors import Invalid
from wharf.services import asset_files, assets, auth, datastores
from wharf.services.assets import AssetKind, NewVersion
from wharf.services.mlflow_models import read_mlflow_model
from wharf.services.platform import Platform
from wharf.storage.network import check_url
from wharf.storage.references import (
    AssetReference,
    DatastorePathReference,
    LocalPathReference,
    UrlReference,
    format_reference,
    parse_reference,
)
from wharf.store.models import AssetVersion, Workspace

DATA_TYPES = ("uri_file", "uri_folder")
MODEL_FLAVORS = ("custom", "mlflow")


def check_storage_path(
    session: Session,
    platform: Platform,
    principal: auth.Principal,
    workspace: Workspace,
    path: str,
    *,
    expect: str,
) -> str:
    """Validate where an asset's files are; return the canonical reference.

    ``expect`` is ``uri_file`` or ``uri_folder``; paths on a datastore must exist and be of
    that kind, and the caller needs ``datastores/read`` to point at them.
    """
    reference = parse_reference(path)
    if isinstance(reference, LocalPathReference):
        raise Invalid(
            f"path {path!r} is a local path; the server does not read its own disk for callers: "
            "create the asset with the CLI or SDK, which upload local paths first",
            field="path",
        )
    if isinstance(reference, AssetReference):
        raise Invalid(
            f"path {path!r} names an asset; an asset's path must point at storage",
            field="path",
        )
    if isinstance(reference, DatastorePathReference):
        auth.authorize_workspace(session, principal, workspace.name, "datastores/read")
        store = datastores.open_named_datastore(session, platform, workspace, reference.datastore)
        platform.storage.call(datastores.check_path_kind, store, reference, expect=expect)
    elif isinstance(reference, UrlReference) and reference.scheme in ("http", "https"):
        check_url(reference.url, allowed=platform.settings.private_url_allowlist)
    return format_reference(reference)


def create_data_version(
    session: Session,
    platform: Platform,
    principal: auth.Principal,
    workspace: Workspace,
    name: str,
    *,
    type: str,
    path: str,
    version: str | None = None,
    description: str = "",
    tags: dict[str, Any] | None = None,
) -> AssetVersion:
    """Register a version of a data asset (a file or a folder in storage)."""
    if type not in DATA_TYPES:
        raise Invalid(f"data type {type!r} is not one of {', '.join(DATA_TYPES)}", field="type")
    assets.check_asset_name("data", name)
    canonical = check_storage_path(session, platform, principal, workspace, path, expect=type)
    new = NewVersion(type, canonical, version, description, dict(tags or {}))
    created = assets.create_asset_version(
        session, workspace, "data", name, new, created_by=principal.user_name
    )
    _freeze(session, platform, workspace, canonical)
    return created


def create_model_version(
    session: Session,
    platform: Platform,
    principal: auth.Principal,
    workspace: Workspace,
    name: str,
    *,
    path: str,
    flavor: str = "custom",
    version: str | None = None,
    description: str = "",
    tags: dict[str, Any] | None = None,
) -> AssetVersion:
    """Register a version of a model (a folder of model files in storage)."""
    if flavor not in MODEL_FLAVORS:
        raise Invalid(
            f"model flavor {flavor!r} is not one of {', '.join(MODEL_FLAVORS)}", field="flavor"
        )
    assets.check_asset_name("model", name)
    canonical = check_storage_path(
        session, platform, principal, workspace, path, expect="uri_folder"
    )
    properties: dict[str, Any] = {}
    if flavor == "mlflow":
        properties["mlflow"] = read_mlflow_model(session, platform, workspace, canonical)
    new = NewVersion(
        "uri_folder", canonical, version, description, dict(tags or {}), flavor, properties
    )
    created = assets.create_asset_version(
        session, workspace, "model", name, new, created_by=principal.user_name
    )
    _freeze(session, platform, workspace, canonical)
    return created


def _freeze(session: Session, platform: Platform, workspace: Workspace, reference: str) -> None:
    """A new version's files on a local datastore become read-only (see asset_files)."""
    parsed = parse_reference(reference)
    if isinstance(parsed, DatastorePathReference):
        store = datastores.open_named_datastore(session, platform, workspace, parsed.datastore)
        with store.translate_errors(parsed.path):
            asset_files.freeze_version_files(store, reference)


def asset_reference(kind: AssetKind, version: AssetVersion) -> str:
    """How jobs and other assets name this version: ``data:heart:2``."""
    return f"{kind}:{version.container.name}:{version.version}"

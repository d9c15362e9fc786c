"""Data assets and models: the same versioned shape under ``/data`` and ``/models``."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from wharf.api.deps import Access, PlatformDep, WorkspaceName, require
from wharf.schemas import storage as schemas
from wharf.services import assets, catalog, workspaces
from wharf.services.assets import AssetKind
from wharf.services.platform import Platform
from wharf.store import models

data_router = APIRouter(prefix="/workspaces/{ws}/data", tags=["data"])
model_router = APIRouter(prefix="/workspaces/{ws}/models", tags=["models"])


def version_out(kind: AssetKind, version: models.AssetVersion) -> schemas.AssetVersion:
    return schemas.AssetVersion(
        name=version.container.name,
        version=version.version,
        type=version.type,
        path=version.path,
        description=version.description,
        tags=version.tags,
        flavor=version.flavor,
        archived=version.archived,
        created_by=version.created_by,
        created_at=version.created_at,
        reference=catalog.asset_reference(kind, version),
    )


def _list(platform: Platform, ws: str, kind: AssetKind, archived: bool) -> list[schemas.Asset]:
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        found = []
        for container in assets.list_containers(
            session, workspace, kind, include_archived=archived
        ):
            versions = assets.list_versions(session, workspace, kind, container.name)
            found.append(
                schemas.Asset(
                    name=container.name,
                    latest_version=versions[0].version if versions else None,
                    archived=container.archived,
                    created_at=container.created_at,
                )
            )
        return found


def _versions(
    platform: Platform, ws: str, kind: AssetKind, name: str, archived: bool
) -> list[schemas.AssetVersion]:
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        return [
            version_out(kind, v)
            for v in assets.list_versions(session, workspace, kind, name, include_archived=archived)
        ]


def _read(
    platform: Platform, ws: str, kind: AssetKind, name: str, version: str
) -> schemas.AssetVersion:
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        return version_out(
            kind, assets.read_asset_version(session, workspace, kind, name, version=version)
        )


def _archive(
    platform: Platform, ws: str, kind: AssetKind, name: str, version: str | None, archived: bool
) -> Response:
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        assets.set_archived(session, workspace, kind, name, version=version, archived=archived)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


ARCHIVED = Query(default=False, description="include archived ones")


@data_router.get("", response_model=list[schemas.Asset])
def list_data(
    ws: WorkspaceName,
    platform: PlatformDep,
    archived: bool = ARCHIVED,
    _: Access = require("data/read"),
) -> list[schemas.Asset]:
    """Data assets with their latest version."""
    return _list(platform, ws, "data", archived)


@data_router.post(
    "/{name}/versions", response_model=schemas.AssetVersion, status_code=status.HTTP_201_CREATED
)
def create_data_version(
    ws: WorkspaceName,
    name: str,
    body: schemas.DataVersionCreate,
    platform: PlatformDep,
    access: Access = require("data/write"),
) -> schemas.AssetVersion:
    """Register a version (the next number unless ``version`` is given); versions are immutable."""
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        created = catalog.create_data_version(
            session,
            platform,
            access.principal,
            workspace,
            name,
            type=body.type,
            path=body.path,
            version=body.version,
            description=body.description,
            tags=body.tags,
        )
        return version_out("data", created)


@data_router.get("/{name}/versions", response_model=list[schemas.AssetVersion])
def list_data_versions(
    ws: WorkspaceName,
    name: str,
    platform: PlatformDep,
    archived: bool = ARCHIVED,
    _: Access = require("data/read"),
) -> list[schemas.AssetVersion]:
    """Versions, newest first."""
    return _versions(platform, ws, "data", name, archived)


@data_router.get("/{name}/versions/{version}", response_model=schemas.AssetVersion)
def read_data_version(
    ws: WorkspaceName,
    name: str,
    version: str,
    platform: PlatformDep,
    _: Access = require("data/read"),
) -> schemas.AssetVersion:
    """One version; ``latest`` is the newest that is not archived."""
    return _read(platform, ws, "data", name, version)


@data_router.post("/{name}/archive", status_code=status.HTTP_204_NO_CONTENT)
def archive_data(
    ws: WorkspaceName,
    name: str,
    platform: PlatformDep,
    version: str | None = Query(default=None, description="one version; default: all"),
    _: Access = require("data/write"),
) -> Response:
    """Hide an asset (or one version) from listings and ``latest``; versions still resolve."""
    return _archive(platform, ws, "data", name, version, True)


@data_router.post("/{name}/restore", status_code=status.HTTP_204_NO_CONTENT)
def restore_data(
    ws: WorkspaceName,
    name: str,
    platform: PlatformDep,
    version: str | None = Query(default=None, description="one version; default: the asset"),
    _: Access = require("data/write"),
) -> Response:
    """Undo an archive."""
    return _archive(platform, ws, "data", name, version, False)


@model_router.get("", response_model=list[schemas.Asset])
def list_models(
    ws: WorkspaceName,
    platform: PlatformDep,
    archived: bool = ARCHIVED,
    _: Access = require("models/read"),
) -> list[schemas.Asset]:
    """Models with their latest version."""
    return _list(platform, ws, "model", archived)


@model_router.post(
    "/{name}/versions", response_model=schemas.AssetVersion, status_code=status.HTTP_201_CREATED
)
def create_model_version(
    ws: WorkspaceName,
    name: str,
    body: schemas.ModelVersionCreate,
    platform: PlatformDep,
    access: Access = require("models/write"),
) -> schemas.AssetVersion:
    """Register a model version: a folder of files and a flavor (custom or mlflow)."""
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        created = catalog.create_model_version(
            session,
            platform,
            access.principal,
            workspace,
            name,
            path=body.path,
            flavor=body.flavor,
            version=body.version,
            description=body.description,
            tags=body.tags,
        )
        return version_out("model", created)


@model_router.get("/{name}/versions", response_model=list[schemas.AssetVersion])
def list_model_versions(
    ws: WorkspaceName,
    name: str,
    platform: PlatformDep,
    archived: bool = ARCHIVED,
    _: Access = require("models/read"),
) -> list[schemas.AssetVersion]:
    """Versions, newest first."""
    return _versions(platform, ws, "model", name, archived)


@model_router.get("/{name}/versions/{version}", response_model=schemas.AssetVersion)
def read_model_version(
    ws: WorkspaceName,
    name: str,
    version: str,
    platform: PlatformDep,
    _: Access = require("models/read"),
) -> schemas.AssetVersion:
    """One version; ``latest`` is the newest that is not archived."""
    return _read(platform, ws, "model", name, version)


@model_router.post("/{name}/archive", status_code=status.HTTP_204_NO_CONTENT)
def archive_model(
    ws: WorkspaceName,
    name: str,
    platform: PlatformDep,
    version: str | None = Query(default=None, description="one version; default: all"),
    _: Access = require("models/write"),
) -> Response:
    """Hide a model (or one version) from listings and ``latest``."""
    return _archive(platform, ws, "model", name, version, True)


@model_router.post("/{name}/restore", status_code=status.HTTP_204_NO_CONTENT)
def restore_model(
    ws: WorkspaceName,
    name: str,
    platform: PlatformDep,
    version: str | None = Query(default=None, description="one version; default: the model"),
    _: Access = require("models/write"),
) -> Response:
    """Undo an archive."""
    return _archive(platform, ws, "model", name, version, False)

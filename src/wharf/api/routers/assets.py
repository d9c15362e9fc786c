"""Data assets and models: the same versioned shape under ``/data`` and ``/models``.

One factory makes the routes they share; only creating a version differs (its body and the
rules that check it), so those two routes are written out.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Query, Response, status

from wharf.api.deps import Access, PlatformDep, WorkspaceName, require
from wharf.api.routing import APIRouter
from wharf.schemas import storage as schemas
from wharf.services import assets, catalog, workspaces
from wharf.services.assets import AssetKind
from wharf.storage.references import azure_id
from wharf.store import models


def version_out(ws: str, kind: AssetKind, version: models.AssetVersion) -> schemas.AssetVersion:
    return schemas.AssetVersion(
        id=azure_id(
            ws, "data" if kind == "data" else "models", version.container.name, version.version
        ),
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
        properties=version.properties or {},
    )


def asset_router(kind: AssetKind, collection: str, noun: str) -> APIRouter:
    """List, read, archive and restore routes for one kind of asset.

    ``collection`` is both the URL segment and the permission prefix (``data``, ``models``).
    """
    router = APIRouter(prefix=f"/workspaces/{{ws}}/{collection}", tags=[collection])
    read = require(f"{collection}/read")
    write = require(f"{collection}/write")
    include_archived = Query(default=False, description="include archived ones")

    def list_assets(
        ws: WorkspaceName,
        platform: PlatformDep,
        archived: bool = include_archived,
        _: Access = read,
    ) -> list[schemas.Asset]:
        with platform.transaction() as session:
            workspace = workspaces.read_workspace(session, ws)
            found = assets.list_assets_with_latest(
                session, workspace, kind, include_archived=archived
            )
            return [
                schemas.Asset(
                    name=container.name,
                    latest_version=latest,
                    archived=container.archived,
                    created_at=container.created_at,
                )
                for container, latest in found
            ]

    def list_versions(
        ws: WorkspaceName,
        name: str,
        platform: PlatformDep,
        archived: bool = include_archived,
        _: Access = read,
    ) -> list[schemas.AssetVersion]:
        with platform.transaction() as session:
            workspace = workspaces.read_workspace(session, ws)
            found = assets.list_versions(session, workspace, kind, name, include_archived=archived)
            return [version_out(ws, kind, v) for v in found]

    def read_version(
        ws: WorkspaceName, name: str, version: str, platform: PlatformDep, _: Access = read
    ) -> schemas.AssetVersion:
        with platform.transaction() as session:
            workspace = workspaces.read_workspace(session, ws)
            return version_out(
                ws, kind, assets.read_asset_version(session, workspace, kind, name, version=version)
            )

    def set_archived(archived: bool) -> Callable[..., Response]:
        def change(
            ws: WorkspaceName,
            name: str,
            platform: PlatformDep,
            version: str | None = Query(default=None, description="one version; default: all"),
            _: Access = write,
        ) -> Response:
            with platform.transaction() as session:
                workspace = workspaces.read_workspace(session, ws)
                assets.set_archived(
                    session, workspace, kind, name, version=version, archived=archived
                )
            return Response(status_code=status.HTTP_204_NO_CONTENT)

        return change

    router.add_api_route(
        "",
        list_assets,
        methods=["GET"],
        response_model=list[schemas.Asset],
        name=f"list_{collection}",
        summary=f"List {noun}s",
        description=f"{noun.capitalize()}s with their latest version.",
    )
    router.add_api_route(
        "/{name}/versions",
        list_versions,
        methods=["GET"],
        response_model=list[schemas.AssetVersion],
        name=f"list_{collection}_versions",
        summary=f"List a {noun}'s versions",
        description="Versions, newest first.",
    )
    router.add_api_route(
        "/{name}/versions/{version}",
        read_version,
        methods=["GET"],
        response_model=schemas.AssetVersion,
        name=f"read_{collection}_version",
        summary=f"Read a {noun} version",
        description="One version; `latest` is the newest that is not archived.",
    )
    router.add_api_route(
        "/{name}/archive",
        set_archived(True),
        methods=["POST"],
        status_code=status.HTTP_204_NO_CONTENT,
        name=f"archive_{collection}",
        summary=f"Archive a {noun}",
        description="Hide it (or one version) from listings and `latest`; versions still "
        "resolve by number, so jobs that name them keep working.",
    )
    router.add_api_route(
        "/{name}/restore",
        set_archived(False),
        methods=["POST"],
        status_code=status.HTTP_204_NO_CONTENT,
        name=f"restore_{collection}",
        summary=f"Restore a {noun}",
        description="Undo an archive.",
    )
    return router


data_router = asset_router("data", "data", "data asset")
model_router = asset_router("model", "models", "model")


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
        return version_out(ws, "data", created)


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
        return version_out(ws, "model", created)

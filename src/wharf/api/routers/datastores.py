"""Datastores: create, list, show, delete; stream files in and out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import BinaryIO

import anyio.to_thread
from fastapi import Query, Request, Response, status
from fastapi.responses import StreamingResponse

from wharf.api.deps import Access, PlatformDep, WorkspaceName, require
from wharf.api.routing import APIRouter, store_read
from wharf.errors import NotFound
from wharf.schemas import storage as schemas
from wharf.services import asset_files, datastores, workspaces
from wharf.services.platform import Platform
from wharf.storage.datastores import OpenDatastore
from wharf.storage.paths import check_datastore_path
from wharf.storage.references import azure_id
from wharf.store import models

router = APIRouter(prefix="/workspaces/{ws}/datastores", tags=["datastores"])

DOWNLOAD_CHUNK = 1024 * 1024


def datastore_out(ws: str, datastore: models.Datastore) -> schemas.Datastore:
    return schemas.Datastore(
        id=azure_id(ws, "datastores", datastore.name),
        name=datastore.name,
        type=datastore.type,
        description=datastore.description,
        settings=datastore.settings,
        has_credentials=datastore.credentials_ciphertext is not None,
        is_default=datastore.is_default,
        created_by=datastore.created_by,
        created_at=datastore.created_at,
    )


@router.get("", response_model=list[schemas.Datastore])
@store_read
def list_datastores(
    ws: WorkspaceName, platform: PlatformDep, _: Access = require("datastores/read")
) -> list[schemas.Datastore]:
    """Datastores of the workspace; credentials are never shown."""
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        return [datastore_out(ws, d) for d in datastores.list_datastores(session, workspace)]


@router.post("", response_model=schemas.Datastore, status_code=status.HTTP_201_CREATED)
def create_datastore(
    ws: WorkspaceName,
    body: schemas.DatastoreCreate,
    platform: PlatformDep,
    access: Access = require("datastores/write"),
) -> schemas.Datastore:
    """Create a datastore; ``credentials`` are stored encrypted and never returned."""
    fields = body.model_dump(exclude={"name", "type", "description", "credentials"})
    spec = datastores.DatastoreSpec(
        name=body.name,
        type=body.type,
        description=body.description,
        settings={k: v for k, v in fields.items() if v is not None},
        credentials=body.credentials,
    )
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        created = datastores.create_datastore(session, platform, access.principal, workspace, spec)
        return datastore_out(ws, created)


@router.get("/{name}", response_model=schemas.Datastore)
@store_read
def read_datastore(
    ws: WorkspaceName, name: str, platform: PlatformDep, _: Access = require("datastores/read")
) -> schemas.Datastore:
    """One datastore."""
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        return datastore_out(ws, datastores.read_datastore(session, workspace, name))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_datastore(
    ws: WorkspaceName, name: str, platform: PlatformDep, _: Access = require("datastores/write")
) -> Response:
    """Forget a datastore no asset uses (its files stay where they are)."""
    with platform.transaction() as session:
        datastores.delete_datastore(session, workspaces.read_workspace(session, ws), name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{name}/files", response_model=list[schemas.StoredFile])
async def list_files(
    ws: WorkspaceName,
    name: str,
    platform: PlatformDep,
    prefix: str = Query(default="", description="a folder or file inside the datastore"),
    _: Access = require("datastores/read"),
) -> list[schemas.StoredFile]:
    """Files below ``prefix``, recursively."""
    check_datastore_path(prefix)

    def listing() -> list[str]:
        return datastores.list_files(_open(platform, ws, name), prefix)

    # Storage calls run in the storage pool, never on the threads that serve the API.
    found = await platform.storage.run(listing)
    return [schemas.StoredFile(path=f, type="file") for f in found]


def _open(platform: Platform, ws: str, name: str) -> OpenDatastore:
    with platform.transaction() as session:
        return datastores.open_named_datastore(
            session, platform, workspaces.read_workspace(session, ws), name
        )


@router.put("/{name}/files/{path:path}", response_model=schemas.StoredFile)
async def upload_file(
    ws: WorkspaceName,
    name: str,
    path: str,
    request: Request,
    platform: PlatformDep,
    _: Access = require("datastores/write"),
) -> schemas.StoredFile:
    """Stream the request body into a file, chunk by chunk; replaces an existing file,
    except an asset version's (those are written once)."""
    check_datastore_path(path)

    def open_target() -> tuple[OpenDatastore, str, BinaryIO]:
        with platform.transaction() as session:
            workspace = workspaces.read_workspace(session, ws)
            store = datastores.open_named_datastore(session, platform, workspace, name)
            asset_files.check_not_version_path(session, workspace, store, path)
        full, handle = datastores.open_upload(store, path)
        return store, full, handle

    store, full, handle = await platform.storage.run(open_target)
    written = 0
    try:
        async for chunk in request.stream():
            if chunk:
                await platform.storage.run(handle.write, chunk)
                written += len(chunk)
        await platform.storage.run(handle.close)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(handle.close)
            await anyio.to_thread.run_sync(datastores.discard_upload, store, full)
        raise
    return schemas.StoredFile(path=path, size=written, type="file")


@router.get(
    "/{name}/files/{path:path}",
    response_class=Response,
    responses={
        200: {
            "description": "the file's bytes",
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    },
)
async def download_file(
    ws: WorkspaceName,
    name: str,
    path: str,
    platform: PlatformDep,
    _: Access = require("datastores/read"),
) -> StreamingResponse:
    """Stream a file out."""
    check_datastore_path(path)

    def open_file() -> BinaryIO:
        store = _open(platform, ws, name)
        full = store.resolve(path)
        with store.translate_errors(path):
            if not store.fs.isfile(full):
                raise NotFound(f"wharf://datastores/{name}/paths/{path} is not a file")
            handle: BinaryIO = store.fs.open(full, "rb")
        return handle

    handle = await platform.storage.run(open_file)

    async def body() -> AsyncIterator[bytes]:
        try:
            while chunk := await platform.storage.run(handle.read, DOWNLOAD_CHUNK):
                yield chunk
        finally:
            await anyio.to_thread.run_sync(handle.close)

    return StreamingResponse(body(), media_type="application/octet-stream")

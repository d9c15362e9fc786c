"""Datastores: the list and one datastore with its files. Credentials are never on a page:
only whether some are stored."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.responses import Response

from wharf.console.context import ConsoleContext, page
from wharf.console.errors import ConsoleRoute
from wharf.console.pagination import PageNumber, paginate
from wharf.console.render import render
from wharf.services import datastores, workspaces
from wharf.services.platform import Platform
from wharf.storage.paths import check_datastore_path

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/w/{ws}/datastores")
def list_datastores(
    ws: str, number: PageNumber = 1, ctx: ConsoleContext = page("datastores/read")
) -> Response:
    with ctx.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        found = paginate(datastores.list_datastores(session, workspace), number)
        return render(ctx, "datastores/list.html", api=ctx.api_url("datastores"), datastores=found)


@router.get("/w/{ws}/datastores/{name}")
def show_datastore(
    ws: str,
    name: str,
    number: PageNumber = 1,
    prefix: str = Query("", max_length=4096, description="a folder to list"),
    ctx: ConsoleContext = page("datastores/read"),
) -> Response:
    check_datastore_path(prefix)
    files = ctx.platform.storage.call(_list_files, ctx.platform, ws, name, prefix)
    with ctx.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        datastore = datastores.read_datastore(session, workspace, name)
        return render(
            ctx,
            "datastores/datastore.html",
            api=ctx.api_url("datastores", name),
            datastore=datastore,
            has_credentials=datastore.credentials_ciphertext is not None,
            files=paginate(files, number),
            prefix=prefix,
        )


def _list_files(platform: Platform, ws: str, name: str, prefix: str) -> list[str]:
    with platform.transaction() as session:
        store = datastores.open_named_datastore(
            session, platform, workspaces.read_workspace(session, ws), name
        )
    return datastores.list_files(store, prefix)

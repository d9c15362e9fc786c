"""Data assets and models: the list with each one's ``latest``, an asset's versions, and
archive / restore (of an asset or one version). One factory makes both, as in the API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from wharf.console.context import ConsoleContext, action, page
from wharf.console.errors import ConsoleRoute
from wharf.console.pagination import PageNumber, paginate
from wharf.console.render import render
from wharf.services import assets, catalog, workspaces
from wharf.services.assets import AssetKind

ARCHIVED = Query(False, description="show archived ones too")


def asset_pages(kind: AssetKind, collection: str, noun: str) -> APIRouter:
    """``/w/{ws}/<collection>``, ``.../{name}``, and the archive and restore actions.
    ``collection`` is both the URL segment and the permission prefix."""
    router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
    read, write = f"{collection}/read", f"{collection}/write"
    names: dict[str, Any] = {"kind": kind, "collection": collection, "noun": noun}

    @router.get(f"/w/{{ws}}/{collection}", name=f"console_list_{collection}")
    def list_assets(
        ws: str, number: PageNumber = 1, archived: bool = ARCHIVED, ctx: ConsoleContext = page(read)
    ) -> Response:
        with ctx.platform.transaction() as session:
            workspace = workspaces.read_workspace(session, ws)
            found = assets.list_assets_with_latest(
                session, workspace, kind, include_archived=archived
            )
            return render(
                ctx,
                "assets/list.html",
                api=ctx.api_url(collection),
                assets=paginate(found, number),
                archived=archived,
                **names,
            )

    @router.get(f"/w/{{ws}}/{collection}/{{name}}", name=f"console_show_{collection}")
    def show_asset(
        ws: str,
        name: str,
        number: PageNumber = 1,
        archived: bool = ARCHIVED,
        ctx: ConsoleContext = page(read),
    ) -> Response:
        with ctx.platform.transaction() as session:
            workspace = workspaces.read_workspace(session, ws)
            container = assets.read_container(session, workspace, kind, name)
            versions = assets.list_versions(
                session, workspace, kind, name, include_archived=archived
            )
            latest = assets.latest_version(session, workspace, kind, name)
            listed = paginate([(v, catalog.asset_reference(kind, v)) for v in versions], number)
            return render(
                ctx,
                "assets/asset.html",
                api=ctx.api_url(collection, name, "versions"),
                asset=container,
                versions=listed,
                latest=latest,
                archived=archived,
                **names,
            )

    def change(archive: bool) -> None:
        verb = "archive" if archive else "restore"

        @router.post(f"/w/{{ws}}/{collection}/{{name}}/{verb}", name=f"console_{verb}_{collection}")
        async def set_archived(
            ws: str, name: str, request: Request, ctx: ConsoleContext = action(write)
        ) -> Response:
            version = str((await request.form()).get("version", "")) or None

            def apply() -> None:
                with ctx.platform.transaction() as session:
                    workspace = workspaces.read_workspace(session, ws)
                    assets.set_archived(
                        session, workspace, kind, name, version=version, archived=archive
                    )

            await run_in_threadpool(apply)
            return RedirectResponse(
                ctx.ws_url(collection, name) + "?archived=true", status_code=303
            )

    change(True)
    change(False)
    return router


data_pages = asset_pages("data", "data", "data asset")
model_pages = asset_pages("model", "models", "model")

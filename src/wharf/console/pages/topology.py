"""Topology: every app of the workspace as a card (or a row of the list view), found by
name; a card opens the app's side panel."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from wharf.api.routers.apps import app_out
from wharf.console.context import ConsoleContext, page
from wharf.console.errors import ConsoleRoute
from wharf.console.pagination import Page, PageNumber, paginate
from wharf.console.render import render
from wharf.services import apps, builds

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/w/{ws}/topology")
def topology(
    ws: str,
    request: Request,
    q: str = Query("", max_length=255, description="find apps whose name contains this"),
    view: Literal["graph", "list"] = Query("graph", description="cards or a list"),
    selected: str = Query("", max_length=63, description="the app whose side panel is open"),
    number: PageNumber = 1,
    ctx: ConsoleContext = page("apps/read"),
) -> Response:
    with ctx.platform.transaction() as session:
        workspace = ctx.read_workspace(session)
        found = [a for a in apps.list_apps(session, workspace) if q.strip().lower() in a.name]
        rows = paginate(found, number)
        shown = Page(
            [app_out(request, ws, a, builds.latest_build(session, a)) for a in rows.items],
            rows.number,
            rows.total,
        )
    names = {a.name for a in shown.items}
    return render(
        ctx,
        "topology/index.html",
        api=ctx.api_url("apps"),
        apps=shown,
        q=q,
        view=view,
        selected=selected if selected in names else None,
    )

"""Topology: every app of the workspace as a card (or a row), found by name."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.responses import Response

from wharf.console.context import ConsoleContext, page
from wharf.console.errors import ConsoleRoute
from wharf.console.pagination import PageNumber, paginate
from wharf.console.render import render
from wharf.services import apps, workspaces

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/w/{ws}/topology")
def topology(
    ws: str,
    q: str = Query("", max_length=255, description="find apps whose name contains this"),
    number: PageNumber = 1,
    ctx: ConsoleContext = page("apps/read"),
) -> Response:
    with ctx.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        found = [a for a in apps.list_apps(session, workspace) if q.lower() in a.name]
        listed = paginate(found, number)
    return render(ctx, "topology/index.html", api=ctx.api_url("apps"), apps=listed, q=q)

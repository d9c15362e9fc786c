"""``/`` and the workspace switcher: both lead to a workspace's Topology."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from wharf.console.context import ConsoleContext, page
from wharf.console.errors import ConsoleRoute
from wharf.console.render import NAV, render
from wharf.errors import NotFound

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/")
def home(ctx: ConsoleContext = page()) -> Response:
    if ctx.workspace is None:
        return render(ctx, "home/no_workspace.html", api="/api/v1/workspaces")
    return RedirectResponse(ctx.ws_url("topology"), status_code=303)


@router.get("/switch")
def switch_workspace(ws: str, section: str = "topology", ctx: ConsoleContext = page()) -> Response:
    """Go to the same section of another workspace."""
    if ws not in ctx.workspaces:
        raise NotFound(f"workspace {ws!r} does not exist or you are not a member of it")
    if section not in {path for _, path in NAV}:
        section = "topology"
    ctx.workspace = ws
    return RedirectResponse(ctx.ws_url(section), status_code=303)

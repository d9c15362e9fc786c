"""Workbenches: the user's own JupyterLabs in the workspace — state, last activity, Start,
Stop and Open (a one-time sign-in on the workbench's own origin); create one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.responses import RedirectResponse, Response

from wharf.api.routers.workbenches import workbench_out
from wharf.console.context import ConsoleContext, action, page
from wharf.console.errors import ConsoleRoute
from wharf.console.form_state import FormState, refuse_form, render_form_page
from wharf.console.pagination import PageNumber, paginate
from wharf.errors import Conflict, Invalid, NotFound
from wharf.services import workbenches
from wharf.services.workbench_runtime import WorkbenchRuntime

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def _runtime(ctx: ConsoleContext) -> WorkbenchRuntime:
    runtime: WorkbenchRuntime = ctx.request.app.state.workbenches
    return runtime


BLANK = FormState({"name": "", "idle_timeout": "2h"})


def _page(ctx: ConsoleContext, number: int = 1, form: FormState = BLANK) -> Response:
    runtime = _runtime(ctx)
    with ctx.platform.transaction() as session:
        workspace = ctx.read_workspace(session)
        found = workbenches.list_own_workbenches(session, workspace.name, ctx.principal.user_id)
        listed = [workbench_out(runtime, workbench) for workbench in found]
    return render_form_page(
        ctx,
        "workbenches/index.html",
        form,
        api=ctx.api_url("workbenches"),
        workbenches=paginate(listed, number),
    )


def _own(ctx: ConsoleContext, name: str) -> int:
    with ctx.platform.transaction() as session:
        workspace = ctx.read_workspace(session)
        return workbenches.read_own_workbench(
            session, workspace.name, ctx.principal.user_id, name
        ).id


def _back(ctx: ConsoleContext) -> Response:
    return RedirectResponse(ctx.ws_url("workbenches"), status_code=303)


@router.get("/w/{ws}/workbenches")
def list_workbenches(
    ws: str, number: PageNumber = 1, ctx: ConsoleContext = page("workbenches/read")
) -> Response:
    return _page(ctx, number)


@router.post("/w/{ws}/workbenches")
def create_workbench(
    ws: str,
    name: Annotated[str, Form(max_length=255)] = "",
    idle_timeout: Annotated[str, Form(max_length=32)] = "",
    ctx: ConsoleContext = action("workbenches/write"),
) -> Response:
    """Create a stopped workbench; Start runs it."""
    values = {"name": name, "idle_timeout": idle_timeout}
    spec = workbenches.WorkbenchSpec(name=name.strip(), idle_timeout=idle_timeout or None)
    try:
        with ctx.platform.transaction() as session:
            workspace = ctx.read_workspace(session)
            workbenches.create_own_workbench(
                session, ctx.platform.secrets, workspace.name, ctx.principal.user_id, spec
            )
    except (Invalid, Conflict, NotFound) as error:
        return _page(ctx, form=refuse_form(values, error))
    return _back(ctx)


@router.post("/w/{ws}/workbenches/{name}/start")
def start_workbench(
    ws: str, name: str, ctx: ConsoleContext = action("workbenches/write")
) -> Response:
    _runtime(ctx).request_start(_own(ctx, name))
    return _back(ctx)


@router.post("/w/{ws}/workbenches/{name}/stop")
def stop_workbench(
    ws: str, name: str, ctx: ConsoleContext = action("workbenches/write")
) -> Response:
    _runtime(ctx).stop(_own(ctx, name))
    return _back(ctx)


@router.post("/w/{ws}/workbenches/{name}/open")
def open_workbench(
    ws: str, name: str, ctx: ConsoleContext = action("workbenches/write")
) -> Response:
    """To the workbench's own origin, signed in there by a code that works once."""
    workbench_id = _own(ctx, name)
    runtime = _runtime(ctx)
    with ctx.platform.transaction() as session:
        found = workbenches.read_by_id(session, workbench_id)
        url = runtime.sign_in_url(found)
    return RedirectResponse(url, status_code=303)

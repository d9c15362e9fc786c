"""Members and roles: who holds which role; grant, change and remove (``members/write``);
custom roles, created and deleted (``roles/write``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from wharf.console.context import ConsoleContext, action, page
from wharf.console.errors import ConsoleRoute
from wharf.console.pagination import PageNumber, paginate
from wharf.console.render import render
from wharf.errors import ServiceError
from wharf.services import members, permissions, roles, workspaces
from wharf.store.models import Workspace

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/w/{ws}/members")
def show_members(
    ws: str, number: PageNumber = 1, ctx: ConsoleContext = page("members/read")
) -> Response:
    return _members_page(ctx, ws, number)


def _members_page(
    ctx: ConsoleContext,
    ws: str,
    number: int = 1,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    with ctx.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        found = [(m.user, m.role, m.created_at) for m in members.list_members(session, ws)]
        known = roles.list_roles(session, workspace)
        return render(
            ctx,
            "members/index.html",
            status=status,
            api=ctx.api_url("members"),
            members=paginate(found, number),
            roles=known,
            expanded={role.name: permissions.expand(role.permissions) for role in known},
            catalogue=permissions.WORKSPACE_PERMISSIONS,
            errors=errors or {},
            values=values or {},
        )


async def _act(
    ctx: ConsoleContext,
    ws: str,
    request: Request,
    where: str,
    change: Callable[[Session, Workspace, Mapping[str, str]], object],
) -> Response:
    """Apply ``change`` with the posted form; an error is shown at ``where`` on the page."""
    posted = await request.form()
    form = {key: str(value) for key, value in posted.items()}
    form["permissions"] = ",".join(str(p) for p in posted.getlist("permissions"))

    def apply() -> None:
        with ctx.platform.transaction() as session:
            change(session, workspaces.read_workspace(session, ws), form)

    try:
        await run_in_threadpool(apply)
    except ServiceError as error:
        return await run_in_threadpool(
            _members_page, ctx, ws, 1, {where: error.detail}, form, error.status
        )
    return RedirectResponse(ctx.ws_url("members"), status_code=303)


@router.post("/w/{ws}/members")
async def grant_role(
    ws: str, request: Request, ctx: ConsoleContext = action("members/write")
) -> Response:
    """Give a user a role here (a new member, or a change of role)."""
    return await _act(
        ctx,
        ws,
        request,
        "grant",
        lambda session, workspace, form: members.assign_role(
            session, workspace, form.get("user", "").strip(), form.get("role", "")
        ),
    )


@router.post("/w/{ws}/members/{user}/role")
async def change_role(
    ws: str, user: str, request: Request, ctx: ConsoleContext = action("members/write")
) -> Response:
    return await _act(
        ctx,
        ws,
        request,
        f"member.{user}",
        lambda session, workspace, form: members.assign_role(
            session, workspace, user, form.get("role", "")
        ),
    )


@router.post("/w/{ws}/members/{user}/remove")
async def remove_member(
    ws: str, user: str, request: Request, ctx: ConsoleContext = action("members/write")
) -> Response:
    return await _act(
        ctx,
        ws,
        request,
        f"member.{user}",
        lambda session, workspace, form: members.remove_member(session, workspace, user),
    )


@router.post("/w/{ws}/roles")
async def create_role(
    ws: str, request: Request, ctx: ConsoleContext = action("roles/write")
) -> Response:
    return await _act(
        ctx,
        ws,
        request,
        "role",
        lambda session, workspace, form: roles.create_role(
            session,
            workspace,
            form.get("name", "").strip(),
            [p for p in form.get("permissions", "").split(",") if p],
            description=form.get("description", "").strip(),
        ),
    )


@router.post("/w/{ws}/roles/{name}/delete")
async def delete_role(
    ws: str, name: str, request: Request, ctx: ConsoleContext = action("roles/write")
) -> Response:
    return await _act(
        ctx,
        ws,
        request,
        f"role.{name}",
        lambda session, workspace, form: roles.delete_role(session, workspace, name),
    )

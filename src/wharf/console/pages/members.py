"""Members and roles: who holds which role; grant, change and remove (``members/write``);
custom roles, created and deleted (``roles/write``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from wharf.console.context import ConsoleContext, action, page
from wharf.console.errors import ConsoleRoute
from wharf.console.pagination import PageNumber, paginate
from wharf.console.render import render
from wharf.errors import ServiceError
from wharf.services import member_forms, members, permissions, roles
from wharf.store.models import Workspace

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


Change = Callable[[Session, Workspace, Mapping[str, str]], object]
"""What a form asks for, applied in the page's workspace."""


@router.get("/w/{ws}/members")
def show_members(
    ws: str, number: PageNumber = 1, ctx: ConsoleContext = page("members/read")
) -> Response:
    return _members_page(ctx, number)


def _members_page(
    ctx: ConsoleContext,
    number: int = 1,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    with ctx.platform.transaction() as session:
        workspace = ctx.read_workspace(session)
        found = [
            (m.user, m.role, m.created_at) for m in members.list_members(session, workspace.name)
        ]
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


async def _act(ctx: ConsoleContext, request: Request, where: str, change: Change) -> Response:
    """Apply ``change`` with the posted form; an error is shown at ``where`` on the page."""
    posted = await request.form()
    form = {key: str(value) for key, value in posted.items()}
    form["permissions"] = member_forms.join_permissions(
        str(p) for p in posted.getlist("permissions")
    )

    def apply() -> None:
        with ctx.platform.transaction() as session:
            change(session, ctx.read_workspace(session), form)

    try:
        await run_in_threadpool(apply)
    except ServiceError as error:
        return await run_in_threadpool(
            _members_page, ctx, 1, {where: error.detail}, form, error.status
        )
    return RedirectResponse(ctx.ws_url("members"), status_code=303)


def _grant(
    session: Session, workspace: Workspace, form: Mapping[str, str], user: str | None = None
) -> None:
    grant = member_forms.read_grant_form(form, user)
    members.assign_role(session, workspace, grant.user, grant.role)


def _create_role(session: Session, workspace: Workspace, form: Mapping[str, str]) -> None:
    draft = member_forms.read_role_form(form)
    roles.create_role(
        session, workspace, draft.name, draft.permissions, description=draft.description
    )


@router.post("/w/{ws}/members")
async def grant_role(
    ws: str, request: Request, ctx: ConsoleContext = action("members/write")
) -> Response:
    """Give a user a role here (a new member, or a change of role)."""
    return await _act(ctx, request, "grant", _grant)


@router.post("/w/{ws}/members/{user}/role")
async def change_role(
    ws: str, user: str, request: Request, ctx: ConsoleContext = action("members/write")
) -> Response:
    return await _act(ctx, request, f"member.{user}", partial(_grant, user=user))


@router.post("/w/{ws}/members/{user}/remove")
async def remove_member(
    ws: str, user: str, request: Request, ctx: ConsoleContext = action("members/write")
) -> Response:
    return await _act(
        ctx, request, f"member.{user}", lambda s, w, _: members.remove_member(s, w, user)
    )


@router.post("/w/{ws}/roles")
async def create_role(
    ws: str, request: Request, ctx: ConsoleContext = action("roles/write")
) -> Response:
    return await _act(ctx, request, "role", _create_role)


@router.post("/w/{ws}/roles/{name}/delete")
async def delete_role(
    ws: str, name: str, request: Request, ctx: ConsoleContext = action("roles/write")
) -> Response:
    return await _act(ctx, request, f"role.{name}", lambda s, w, _: roles.delete_role(s, w, name))

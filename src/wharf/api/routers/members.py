"""Members of a workspace: who holds which role."""

from __future__ import annotations

from fastapi import Response, status

from wharf.api.deps import Access, PlatformDep, WorkspaceName, require
from wharf.api.routing import APIRouter, store_read
from wharf.schemas import identity as schemas
from wharf.services import members, workspaces

router = APIRouter(prefix="/workspaces/{ws}/members", tags=["members"])


def member_out(member: members.Member) -> schemas.Member:
    return schemas.Member(user=member.user, role=member.role, created_at=member.created_at)


@router.get("", response_model=list[schemas.Member])
@store_read
def list_members(
    ws: WorkspaceName, platform: PlatformDep, _: Access = require("members/read")
) -> list[schemas.Member]:
    """Members and their roles."""
    with platform.transaction() as session:
        found = members.list_members(session, ws)
    return [member_out(m) for m in found]


@router.put("/{user}", response_model=schemas.Member)
def assign_role(
    ws: WorkspaceName,
    user: str,
    body: schemas.MemberAssign,
    platform: PlatformDep,
    _: Access = require("members/write"),
) -> schemas.Member:
    """Give ``user`` a role here, replacing any role they held."""
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        return member_out(members.assign_role(session, workspace, user, body.role))


@router.delete("/{user}", status_code=status.HTTP_204_NO_CONTENT)
def remove_member(
    ws: WorkspaceName, user: str, platform: PlatformDep, _: Access = require("members/write")
) -> Response:
    """Take ``user`` out of the workspace."""
    with platform.transaction() as session:
        members.remove_member(session, workspaces.read_workspace(session, ws), user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""Roles of a workspace: the built-in ones and custom sets of permissions."""

from __future__ import annotations

from fastapi import Response, status

from wharf.api.deps import Access, PlatformDep, WorkspaceName, require
from wharf.api.routing import APIRouter, store_read
from wharf.schemas import identity as schemas
from wharf.services import permissions, roles, workspaces

router = APIRouter(prefix="/workspaces/{ws}", tags=["roles"])


def role_out(role: roles.RoleInfo) -> schemas.Role:
    return schemas.Role(
        name=role.name,
        description=role.description,
        permissions=role.permissions,
        builtin=role.builtin,
    )


@router.get("/roles", response_model=list[schemas.Role])
@store_read
def list_roles(
    ws: WorkspaceName, platform: PlatformDep, _: Access = require("roles/read")
) -> list[schemas.Role]:
    """Built-in and custom roles with their permission patterns."""
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        return [role_out(r) for r in roles.list_roles(session, workspace)]


@router.get("/permissions", response_model=list[schemas.Permission])
def list_permissions(
    ws: WorkspaceName, _: Access = require("roles/read")
) -> list[schemas.Permission]:
    """Every permission a role can grant, with what it allows."""
    return [
        schemas.Permission(name=name, description=description)
        for name, description in permissions.WORKSPACE_PERMISSIONS.items()
    ]


@router.post("/roles", response_model=schemas.Role, status_code=status.HTTP_201_CREATED)
def create_role(
    ws: WorkspaceName,
    body: schemas.RoleCreate,
    platform: PlatformDep,
    _: Access = require("roles/write"),
) -> schemas.Role:
    """Create a custom role from permission patterns."""
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        return role_out(
            roles.create_role(
                session, workspace, body.name, body.permissions, description=body.description
            )
        )


@router.get("/roles/{role}", response_model=schemas.Role)
@store_read
def read_role(
    ws: WorkspaceName, role: str, platform: PlatformDep, _: Access = require("roles/read")
) -> schemas.Role:
    """One role."""
    with platform.transaction() as session:
        return role_out(roles.read_role(session, workspaces.read_workspace(session, ws), role))


@router.delete("/roles/{role}", status_code=status.HTTP_204_NO_CONTENT)
def delete_role(
    ws: WorkspaceName, role: str, platform: PlatformDep, _: Access = require("roles/write")
) -> Response:
    """Delete a custom role that nobody holds."""
    with platform.transaction() as session:
        roles.delete_role(session, workspaces.read_workspace(session, ws), role)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

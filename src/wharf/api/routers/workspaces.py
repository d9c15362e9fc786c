"""Workspaces: list yours, create one (platform admins), read and describe one."""

from __future__ import annotations

from fastapi import status

from wharf.api.deps import Access, PlatformDep, WorkspaceName, require
from wharf.api.routing import APIRouter, store_read
from wharf.schemas import identity as schemas
from wharf.services import users, workspaces
from wharf.store import models

router = APIRouter(prefix="/workspaces", tags=["workspaces"])


def workspace_out(workspace: models.Workspace) -> schemas.Workspace:
    return schemas.Workspace.model_validate(workspace, from_attributes=True)


@router.get("", response_model=list[schemas.Workspace])
@store_read
def list_workspaces(
    platform: PlatformDep, access: Access = require("authenticated")
) -> list[schemas.Workspace]:
    """The workspaces you are a member of (all of them for platform admins)."""
    with platform.transaction() as session:
        return [workspace_out(w) for w in workspaces.list_workspaces(session, access.principal)]


@router.post("", response_model=schemas.Workspace, status_code=status.HTTP_201_CREATED)
def create_workspace(
    body: schemas.WorkspaceCreate,
    platform: PlatformDep,
    access: Access = require("workspaces/create"),
) -> schemas.Workspace:
    """Create a workspace; you become its owner."""
    with platform.transaction() as session:
        owner = users.read_user_by_id(session, access.principal.user_id)
        return workspace_out(
            workspaces.create_workspace(
                session, platform.settings, body.name, owner=owner, description=body.description
            )
        )


@router.get("/{ws}", response_model=schemas.Workspace)
@store_read
def read_workspace(
    ws: WorkspaceName, platform: PlatformDep, _: Access = require("workspaces/read")
) -> schemas.Workspace:
    """One workspace."""
    with platform.transaction() as session:
        return workspace_out(workspaces.read_workspace(session, ws))


@router.patch("/{ws}", response_model=schemas.Workspace)
def update_workspace(
    ws: WorkspaceName,
    body: schemas.WorkspaceUpdate,
    platform: PlatformDep,
    _: Access = require("workspaces/write"),
) -> schemas.Workspace:
    """Change a workspace's description."""
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        return workspace_out(
            workspaces.update_workspace(session, workspace, description=body.description)
        )

"""Who is calling, and may they do this? Authentication by token, authorisation by role."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from wharf.errors import Forbidden
from wharf.services import permissions, roles, workspaces
from wharf.store.models import Membership, Workspace


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a user, and the token they used."""

    user_id: int
    user_name: str
    is_admin: bool
    token_id: str | None = None


def authorize_platform(principal: Principal, permission: str) -> None:
    """Platform-wide permissions (creating users, workspaces) belong to platform admins."""
    if permission not in permissions.PLATFORM_PERMISSIONS:
        raise ValueError(f"unknown platform permission {permission!r}")
    if not principal.is_admin:
        raise Forbidden(f"{permission} needs a platform admin; {principal.user_name!r} is not one")


def authorize_workspace(
    session: Session, principal: Principal, workspace_name: str, permission: str
) -> Workspace:
    """The workspace, if the caller's role in it grants ``permission``; else Forbidden."""
    if permission not in permissions.WORKSPACE_PERMISSIONS:
        raise ValueError(f"unknown workspace permission {permission!r}")
    workspace = workspaces.read_workspace(session, workspace_name)
    if principal.is_admin:
        return workspace
    role_name, patterns = _role_in(session, principal, workspace)
    if role_name is None:
        raise Forbidden(f"{principal.user_name!r} is not a member of workspace {workspace.name!r}")
    if not permissions.grants(patterns, permission):
        raise Forbidden(
            f"role {role_name!r} in workspace {workspace.name!r} does not grant {permission}"
        )
    return workspace


def _role_in(
    session: Session, principal: Principal, workspace: Workspace
) -> tuple[str | None, list[str]]:
    """The caller's role in the workspace and its permission patterns, looked up once per
    session (an API request has one session: its checks ask again for free)."""
    cache: dict[tuple[int, int], tuple[str | None, list[str]]] = session.info.setdefault(
        "wharf.roles", {}
    )
    key = (principal.user_id, workspace.id)
    if key not in cache:
        role_name = session.scalar(
            select(Membership.role).where(
                Membership.workspace_id == workspace.id, Membership.user_id == principal.user_id
            )
        )
        patterns = (
            [] if role_name is None else roles.read_role(session, workspace, role_name).permissions
        )
        cache[key] = (role_name, list(patterns))
    return cache[key]


def workspace_permissions(session: Session, principal: Principal, workspace_name: str) -> set[str]:
    """Every workspace permission the caller holds in the workspace (none if not a member):
    what an interface asks before it offers an action. The action checks again."""
    workspace = workspaces.read_workspace(session, workspace_name)
    if principal.is_admin:
        return set(permissions.WORKSPACE_PERMISSIONS)
    _, patterns = _role_in(session, principal, workspace)
    return set(permissions.expand(patterns))

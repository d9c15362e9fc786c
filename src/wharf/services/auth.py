"""Who is calling, and may they do this? Authentication by token, authorisation by role."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from wharf.errors import Forbidden
from wharf.services import permissions, roles, workspaces
from wharf.services.auth_cache import AuthCache, CachedRole
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
    session: Session,
    principal: Principal,
    workspace_name: str,
    permission: str,
    cache: AuthCache | None = None,
) -> Workspace:
    """The workspace, if the caller's role in it grants ``permission``; else Forbidden. With
    ``cache``, what the store said of the caller's role is remembered there."""
    if permission not in permissions.WORKSPACE_PERMISSIONS:
        raise ValueError(f"unknown workspace permission {permission!r}")
    generation = cache.generation if cache is not None else 0
    workspace = workspaces.read_workspace(session, workspace_name)
    role = CachedRole(None, ()) if principal.is_admin else _role_in(session, principal, workspace)
    if cache is not None:
        cache.keep_role(principal.user_id, workspace.name, role, generation)
    _check_role(principal, workspace.name, role, permission)
    return workspace


def authorize_remembered(
    cache: AuthCache, principal: Principal, workspace_name: str, permission: str
) -> bool:
    """Decide from the cache alone: True when the remembered role grants ``permission``,
    Forbidden when it does not, False when the cache cannot tell (ask the store:
    :func:`authorize_workspace`)."""
    if permission not in permissions.WORKSPACE_PERMISSIONS:
        raise ValueError(f"unknown workspace permission {permission!r}")
    role = cache.role(principal.user_id, workspace_name)
    if role is None:
        return False
    _check_role(principal, workspace_name, role, permission)
    return True


def _check_role(principal: Principal, workspace: str, role: CachedRole, permission: str) -> None:
    if principal.is_admin:
        return
    if role.role is None:
        raise Forbidden(f"{principal.user_name!r} is not a member of workspace {workspace!r}")
    if not permissions.grants(role.patterns, permission):
        raise Forbidden(
            f"role {role.role!r} in workspace {workspace!r} does not grant {permission}"
        )


def _role_in(session: Session, principal: Principal, workspace: Workspace) -> CachedRole:
    """The caller's role in the workspace and its permission patterns, looked up once per
    session (an API request has one session: its checks ask again for free)."""
    cache: dict[tuple[int, int], CachedRole] = session.info.setdefault("wharf.roles", {})
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
        cache[key] = CachedRole(role_name, tuple(patterns))
    return cache[key]


def workspace_permissions(session: Session, principal: Principal, workspace_name: str) -> set[str]:
    """Every workspace permission the caller holds in the workspace (none if not a member):
    what an interface asks before it offers an action. The action checks again."""
    workspace = workspaces.read_workspace(session, workspace_name)
    if principal.is_admin:
        return set(permissions.WORKSPACE_PERMISSIONS)
    return set(permissions.expand(_role_in(session, principal, workspace).patterns))

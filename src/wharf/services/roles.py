"""Roles of a workspace: the built-in ones and custom sets of permissions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from wharf.errors import Conflict, NotFound
from wharf.services import permissions
from wharf.services.naming import check_dns_label
from wharf.store.models import Membership, Role, Workspace


@dataclass(frozen=True)
class RoleInfo:
    """A role as callers see it, whether built in or custom."""

    name: str
    description: str
    permissions: list[str]
    builtin: bool


def list_roles(session: Session, workspace: Workspace) -> list[RoleInfo]:
    """The built-in roles, then the workspace's custom roles by name."""
    found = [
        RoleInfo(name, description, list(patterns), True)
        for name, (description, patterns) in permissions.BUILTIN_ROLES.items()
    ]
    custom = session.scalars(
        select(Role).where(Role.workspace_id == workspace.id).order_by(Role.name)
    )
    found.extend(RoleInfo(r.name, r.description, list(r.permissions), False) for r in custom)
    return found


def read_role(session: Session, workspace: Workspace, name: str) -> RoleInfo:
    """The role called ``name`` in this workspace."""
    if name in permissions.BUILTIN_ROLES:
        description, patterns = permissions.BUILTIN_ROLES[name]
        return RoleInfo(name, description, list(patterns), True)
    role = session.scalar(select(Role).where(Role.workspace_id == workspace.id, Role.name == name))
    if role is None:
        known = ", ".join(r.name for r in list_roles(session, workspace))
        raise NotFound(f"role {name!r} does not exist in workspace {workspace.name!r} ({known})")
    return RoleInfo(role.name, role.description, list(role.permissions), False)


def create_role(
    session: Session,
    workspace: Workspace,
    name: str,
    patterns: list[str],
    *,
    description: str = "",
) -> RoleInfo:
    """Create a custom role from permission patterns (each must match a known permission)."""
    check_dns_label("role", name)
    if name in permissions.BUILTIN_ROLES:
        raise Conflict(f"role {name!r} is built in")
    checked = permissions.check_permission_patterns(patterns)
    exists = session.scalar(
        select(Role.id).where(Role.workspace_id == workspace.id, Role.name == name)
    )
    if exists is not None:
        raise Conflict(f"role {name!r} already exists in workspace {workspace.name!r}")
    session.add(
        Role(workspace_id=workspace.id, name=name, description=description, permissions=checked)
    )
    session.flush()
    return RoleInfo(name, description, checked, False)


def delete_role(session: Session, workspace: Workspace, name: str) -> None:
    """Delete a custom role that nobody holds."""
    if name in permissions.BUILTIN_ROLES:
        raise Conflict(f"role {name!r} is built in and cannot be deleted")
    role = session.scalar(select(Role).where(Role.workspace_id == workspace.id, Role.name == name))
    if role is None:
        raise NotFound(f"role {name!r} does not exist in workspace {workspace.name!r}")
    holders = session.scalar(
        select(Membership.id).where(
            Membership.workspace_id == workspace.id, Membership.role == name
        )
    )
    if holders is not None:
        raise Conflict(f"role {name!r} is still assigned; assign its members another role first")
    session.delete(role)
    session.flush()

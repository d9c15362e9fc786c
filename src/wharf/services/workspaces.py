"""Workspaces: the tenants every resource lives in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wharf.config import Settings
from wharf.errors import Conflict, NotFound
from wharf.services import datastores
from wharf.services.naming import check_dns_label
from wharf.store.models import Membership, User, Workspace

if TYPE_CHECKING:
    from wharf.services.auth import Principal

DEFAULT_WORKSPACE = "default"


def create_workspace(
    session: Session,
    settings: Settings,
    name: str,
    *,
    owner: User | None = None,
    description: str = "",
) -> Workspace:
    """Create a workspace with its ``default`` datastore; its creator becomes its owner."""
    check_dns_label("workspace", name)
    if session.scalar(select(Workspace.id).where(Workspace.name == name)) is not None:
        raise Conflict(f"workspace {name!r} already exists")
    workspace = Workspace(name=name, description=description)
    session.add(workspace)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"workspace {name!r} already exists") from exc
    if owner is not None:
        session.add(Membership(workspace_id=workspace.id, user_id=owner.id, role="owner"))
        session.flush()
    datastores.ensure_default_datastore(session, settings, workspace)
    return workspace


def read_workspace(session: Session, name: str) -> Workspace:
    """The workspace called ``name``."""
    workspace = session.scalar(select(Workspace).where(Workspace.name == name))
    if workspace is None:
        raise workspace_not_found(name)
    return workspace


def workspace_not_found(name: str) -> NotFound:
    """The error for a workspace that does not exist."""
    return NotFound(f"workspace {name!r} does not exist")


def list_workspaces(session: Session, principal: Principal) -> list[Workspace]:
    """The workspaces the caller belongs to (every workspace for a platform admin)."""
    query = select(Workspace).order_by(Workspace.name)
    if not principal.is_admin:
        query = query.join(Membership).where(Membership.user_id == principal.user_id)
    return list(session.scalars(query))


def update_workspace(session: Session, workspace: Workspace, *, description: str) -> Workspace:
    """Change a workspace's description."""
    workspace.description = description
    session.flush()
    return workspace

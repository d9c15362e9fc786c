"""Members of a workspace and the role each holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from wharf.errors import Conflict, NotFound
from wharf.services import roles, users, workspaces
from wharf.store.models import Membership, User, Workspace


@dataclass(frozen=True, slots=True)
class Member:
    """A user's role in a workspace."""

    user: str
    role: str
    created_at: datetime


_MEMBERS = (
    select(Workspace.id, User.name, Membership.role, Membership.created_at)
    .select_from(Workspace)
    .outerjoin(Membership.__table__.join(User.__table__), Membership.workspace_id == Workspace.id)
    .where(Workspace.name == bindparam("workspace"))
    .order_by(User.name)
)
"""Built once: the store reuses its compiled form (building and keying it cost more than
running it)."""


def list_members(session: Session, workspace_name: str) -> list[Member]:
    """The members of the workspace called ``workspace_name``, by user name. One query, read
    as rows: listing members is among the API's most frequent reads."""
    rows = session.connection().execute(_MEMBERS, {"workspace": workspace_name}).all()
    if not rows:
        raise workspaces.workspace_not_found(workspace_name)
    return [Member(name, role, created_at) for _, name, role, created_at in rows if name]


def assign_role(session: Session, workspace: Workspace, user_name: str, role: str) -> Member:
    """Make the user a member with ``role``, replacing any role they held here."""
    user = users.read_user(session, user_name)
    roles.read_role(session, workspace, role)
    membership = _find(session, workspace, user)
    if membership is None:
        membership = Membership(workspace_id=workspace.id, user_id=user.id, role=role)
        session.add(membership)
    else:
        if membership.role == "owner" and role != "owner":
            _refuse_if_last_owner(session, workspace, user_name)
        membership.role = role
    session.flush()
    return Member(user.name, membership.role, membership.created_at)


def remove_member(session: Session, workspace: Workspace, user_name: str) -> None:
    """Take the user out of the workspace; its last owner cannot leave."""
    user = users.read_user(session, user_name)
    membership = _find(session, workspace, user)
    if membership is None:
        raise NotFound(f"user {user_name!r} is not a member of workspace {workspace.name!r}")
    if membership.role == "owner":
        _refuse_if_last_owner(session, workspace, user_name)
    session.delete(membership)
    session.flush()


def _find(session: Session, workspace: Workspace, user: User) -> Membership | None:
    return session.scalar(
        select(Membership).where(
            Membership.workspace_id == workspace.id, Membership.user_id == user.id
        )
    )


def _refuse_if_last_owner(session: Session, workspace: Workspace, user_name: str) -> None:
    owners = session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.workspace_id == workspace.id, Membership.role == "owner")
    )
    if owners == 1:
        raise Conflict(
            f"{user_name!r} is the last owner of workspace {workspace.name!r}; "
            "make someone else owner first"
        )

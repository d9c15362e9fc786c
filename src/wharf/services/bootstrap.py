"""First start: the default workspace and the admin user exist, whatever else happened."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from wharf.config import Settings
from wharf.errors import NotFound
from wharf.services import datastores, members, tokens, users, workspaces
from wharf.store.models import Membership, User, Workspace

ADMIN_USER = "admin"


def ensure_platform(session: Session, settings: Settings) -> User:
    """Create the ``default`` workspace and the ``admin`` user (its owner) if missing, and a
    ``default`` datastore for every workspace that lacks one.

    Idempotent: it runs on every start and never changes what an operator set up.
    """
    try:
        admin = users.read_user(session, ADMIN_USER)
    except NotFound:
        admin = users.create_user(session, ADMIN_USER, is_admin=True)
    try:
        default = workspaces.read_workspace(session, workspaces.DEFAULT_WORKSPACE)
    except NotFound:
        default = workspaces.create_workspace(session, settings, workspaces.DEFAULT_WORKSPACE)
        has_members = session.scalar(
            select(Membership.id).where(Membership.workspace_id == default.id)
        )
        if has_members is None:
            members.assign_role(session, default, ADMIN_USER, "owner")
    for workspace in session.scalars(select(Workspace)):
        datastores.ensure_default_datastore(session, settings, workspace)
    return admin


def issue_admin_token(session: Session) -> str:
    """A fresh token for the admin user, for the CLI config ``wharf up`` writes."""
    admin = users.read_user(session, ADMIN_USER)
    _, plaintext = tokens.create_token(
        session, admin, name="wharf-up", lifetime=timedelta(days=365)
    )
    return plaintext

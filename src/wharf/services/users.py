"""Users: people and service accounts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wharf.errors import Conflict, NotFound
from wharf.services.naming import check_user_name
from wharf.store.models import User


def create_user(
    session: Session, name: str, *, email: str | None = None, is_admin: bool = False
) -> User:
    """Create a user; the name must be new."""
    check_user_name(name)
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise Conflict(f"user {name!r} already exists")
    user = User(name=name, email=email, is_admin=is_admin)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent create won the race
        raise Conflict(f"user {name!r} already exists") from exc
    return user


def read_user(session: Session, name: str) -> User:
    """The user called ``name``."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"user {name!r} does not exist")
    return user


def read_user_by_id(session: Session, user_id: int) -> User:
    """The user with this id."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user #{user_id} does not exist")
    return user


def list_users(session: Session) -> list[User]:
    """Every user, by name."""
    return list(session.scalars(select(User).order_by(User.name)))

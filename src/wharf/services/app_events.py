"""The app event list: who changed what, and when, for ``wharf app events``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from wharf.store.models import App, AppEvent

SYSTEM = "wharf"
"""The actor of what the platform does by itself (a rollout it started, a restart)."""


class ChangeLike(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


def record_event(
    session: Session,
    app: App,
    kind: str,
    *,
    actor: str | None,
    changes: Iterable[ChangeLike] = (),
    message: str = "",
) -> AppEvent:
    """Append an event to ``app``'s list. Callers pass plain values only: a secret's value
    never reaches this table."""
    event = AppEvent(
        app_id=app.id,
        kind=kind,
        actor=actor or SYSTEM,
        message=message,
        changes=[change.as_dict() for change in changes],
    )
    session.add(event)
    return event


def list_events(session: Session, app: App, *, limit: int = 100) -> list[AppEvent]:
    """The app's latest events, newest first."""
    query = (
        select(AppEvent).where(AppEvent.app_id == app.id).order_by(AppEvent.id.desc()).limit(limit)
    )
    return list(session.scalars(query))

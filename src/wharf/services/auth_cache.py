"""What a server remembers of the tokens and roles it checked, for a few seconds.

Checking a token and a role reads the store: on every API request that is most of the work. The
cache keeps, per server, the caller behind a token digest and a caller's role in a workspace, for
``auth_cache_seconds``. It is a cache of what the store said, never a second source of truth:

- a token's expiry is checked at every use, cached or not;
- any change to a token (other than its ``last_used_at`` stamp), a user, a workspace, a membership
  or a role written through this server's sessions empties it at flush and again at commit, so
  revoking a token or a role here takes effect on the very next request;
- a change made by another server sharing the store (or by hand in the database) is seen when
  the entry ages out: within ``auth_cache_seconds``.

A reader that looked something up while such a change was being written could remember the
old answer after the change committed. Every entry is therefore kept only if no change was seen
since the reader began (``generation``): a stale answer is never stored.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

from wharf.store.models import Membership, Role, Token, User, Workspace

MAX_ENTRIES = 10_000
"""Entries per kind; the oldest go first beyond that."""

_WATCHED = (Token, User, Workspace, Membership, Role)
_CHANGED = "wharf.auth_changed"


@dataclass(frozen=True)
class CachedCaller:
    """A token the store found valid: who it belongs to, and until when it is valid."""

    user_id: int
    user_name: str
    is_admin: bool
    token_id: str
    expires_at: datetime | None


@dataclass(frozen=True)
class CachedUser:
    """The caller's user record as authentication read it (``users/me`` answers with it)."""

    user_id: int
    name: str
    email: str | None
    is_admin: bool
    created_at: datetime


@dataclass(frozen=True)
class CachedRole:
    """A caller's role in a workspace (``None``: not a member), and the role's patterns."""

    role: str | None
    patterns: tuple[str, ...]


class _Expiring:
    """A bounded map whose entries age out after ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.entries: OrderedDict[Any, tuple[float, Any]] = OrderedDict()

    def get(self, key: Any, now: float) -> Any:
        found = self.entries.get(key)
        if found is None:
            return None
        if found[0] <= now:
            self.entries.pop(key, None)
            return None
        return found[1]

    def put(self, key: Any, value: Any, now: float) -> None:
        self.entries[key] = (now + self.seconds, value)
        self.entries.move_to_end(key)
        while len(self.entries) > MAX_ENTRIES:
            self.entries.popitem(last=False)


class AuthCache:
    """Callers by token digest and roles by (user, workspace), for ``seconds`` (0: off)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._generation = 0
        self._callers = _Expiring(seconds)
        self._users = _Expiring(seconds)
        self._roles = _Expiring(seconds)
        self._watched: sessionmaker[Session] | None = None

    @property
    def enabled(self) -> bool:
        return self.seconds > 0

    @property
    def generation(self) -> int:
        """Read before looking anything up in the store; hand it back to ``keep_*``."""
        return self._generation

    def caller(self, digest: str) -> CachedCaller | None:
        if not self.enabled:
            return None
        with self._lock:
            found: CachedCaller | None = self._callers.get(digest, time.monotonic())
        return found

    def keep_caller(self, digest: str, caller: CachedCaller, generation: int) -> None:
        self._keep(self._callers, digest, caller, generation)

    def user(self, user_id: int) -> CachedUser | None:
        if not self.enabled:
            return None
        with self._lock:
            found: CachedUser | None = self._users.get(user_id, time.monotonic())
        return found

    def keep_user(self, user: CachedUser, generation: int) -> None:
        self._keep(self._users, user.user_id, user, generation)

    def role(self, user_id: int, workspace: str) -> CachedRole | None:
        if not self.enabled:
            return None
        with self._lock:
            found: CachedRole | None = self._roles.get((user_id, workspace), time.monotonic())
        return found

    def keep_role(self, user_id: int, workspace: str, role: CachedRole, generation: int) -> None:
        self._keep(self._roles, (user_id, workspace), role, generation)

    def _keep(self, entries: _Expiring, key: Any, value: Any, generation: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            if generation == self._generation:  # nothing changed since the reader began
                entries.put(key, value, time.monotonic())

    def forget_all(self) -> None:
        """Drop every entry; answers looked up before now are not kept either."""
        with self._lock:
            self._generation += 1
            for entries in (self._callers, self._users, self._roles):
                entries.entries.clear()

    # -- keeping up with this server's own writes -------------------------------------------

    def watch(self, sessions: sessionmaker[Session]) -> None:
        """Forget everything whenever a session of ``sessions`` writes a token, user,
        workspace, membership or role: at flush, and again when that transaction commits."""
        event.listen(sessions, "after_flush", self._after_flush)
        event.listen(sessions, "after_commit", self._after_commit)
        self._watched = sessions

    def unwatch(self) -> None:
        if self._watched is not None:
            event.remove(self._watched, "after_flush", self._after_flush)
            event.remove(self._watched, "after_commit", self._after_commit)
            self._watched = None

    def _after_flush(self, session: Session, _context: Any) -> None:
        if _touches_access(session):
            session.info[_CHANGED] = True
            self.forget_all()

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(_CHANGED, False):
            self.forget_all()


def _touches_access(session: Session) -> bool:
    for instance in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(instance, _WATCHED):
            continue
        if isinstance(instance, Token) and instance not in session.new:
            changed = {
                attribute.key
                for attribute in inspect(instance).attrs
                if attribute.history.has_changes()
            }
            if changed <= {"last_used_at"}:  # the stamp every use writes: nothing to forget
                continue
        return True
    return False

"""One transaction per API request: the platform as one request sees it.

Authentication, the permission check and the route's first ``platform.transaction()`` block all
run in one session and one database transaction: auth begins it, the route's first block
commits it (so a route that wakes a runner after its block still does so after the commit).
Later blocks of the same request reuse the session, each in a transaction of its own, as before.
Whatever is left open when the request ends is committed (rolled back after an error).

The session belongs to the request's thread of control: a block entered from another thread
while one is open (a route that works in parallel), or after the request ended (a streaming
body), gets a session of its own, exactly like :meth:`Platform.transaction`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields

from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from wharf.services.platform import Platform


@dataclass
class RequestPlatform(Platform):
    """A :class:`Platform` whose transactions share one session for the request."""

    _session: Session | None = field(default=None, repr=False)
    _owner: int | None = field(default=None, repr=False)
    _depth: int = field(default=0, repr=False)
    _ended: bool = field(default=False, repr=False)

    @classmethod
    def for_request(cls, platform: Platform) -> RequestPlatform:
        request = cls(**{name: getattr(platform, name) for name in _SHARED})
        # The server's one storage pool and one auth cache, never one per request.
        request.storage = platform.storage
        request.auth_cache = platform.auth_cache
        return request

    def __post_init__(self) -> None:
        """Nothing to make: :meth:`for_request` hands over the server's parts."""

    @property
    def has_session(self) -> bool:
        """Whether the request opened its session (and so has something to end)."""
        return self._session is not None

    @property
    def in_transaction(self) -> bool:
        """Whether the request's session holds a transaction (ending it talks to the store;
        otherwise ending is closing an idle session, which does no I/O)."""
        return self._session is not None and self._session.in_transaction()

    @property
    def reads_inline(self) -> bool:
        """Whether a quick store read of this request may run on the event loop: the store is
        an embedded SQLite file (a read there is a few page-cache lookups, far cheaper than a
        worker-thread hop and the GIL hand-overs it brings), and the request already holds a
        connection or the pool has idle ones, so the loop never waits for one."""
        if self.engine.dialect.name != "sqlite":
            return False
        if self.in_transaction:
            return True
        pool = self.engine.pool
        return isinstance(pool, QueuePool) and pool.checkedout() < pool.size()

    def begin_request(self) -> Session:
        """Open the request's transaction (auth calls this) and leave it open: the route's
        first block commits it."""
        if self._session is None:
            self._session = self.sessions()
        if not self._session.in_transaction():
            self._session.begin()
        return self._session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        thread = threading.get_ident()
        if self._ended or (self._depth and self._owner != thread):
            with super().transaction() as session:
                yield session
            return
        if self._depth:  # nested in this request's open block: the outer block commits
            yield self.begin_request()
            return
        session = self.begin_request()
        self._owner, self._depth = thread, 1
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            self._owner, self._depth = None, 0

    def end_request(self, *, failed: bool) -> None:
        """Commit (or roll back) what the request left open, and release the session."""
        self._ended = True
        session, self._session = self._session, None
        if session is None:
            return
        try:
            if session.in_transaction():
                if failed:
                    session.rollback()
                else:
                    session.commit()
        finally:
            session.close()


_SHARED = tuple(f.name for f in fields(Platform) if f.init)
"""The parts of the server's platform a request's platform is made of."""

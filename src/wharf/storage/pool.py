"""A bounded pool of threads for storage calls made on an API request's behalf.

A storage service that accepts connections and never answers would otherwise hold one of the
threads that serve the API for as long as its client waits, and enough such calls stall every
route, health included. Here storage calls run on threads of their own: at most ``size`` run
at once and at most ``size`` more wait; any further call is refused at once
(:class:`Unavailable`, 503 with ``Retry-After``). A caller waits at most ``call_timeout``
seconds for its result (:class:`TimedOut`, 504); the call itself is bounded by its client's
connect and read timeouts, so its thread comes back soon after.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import ParamSpec, TypeVar

from wharf.errors import TimedOut, Unavailable

P = ParamSpec("P")
T = TypeVar("T")


class StoragePool:
    """Runs storage calls with a bound on how many run, how many wait, and how long."""

    def __init__(self, *, size: int, call_timeout: float) -> None:
        self.size = size
        self.call_timeout = call_timeout
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="wharf-storage")
        self._slots = threading.BoundedSemaphore(2 * size)
        self._local = threading.local()
        self._taken = 0
        self._count_lock = threading.Lock()

    @property
    def taken(self) -> int:
        """Calls running or waiting now (for health reports and tests)."""
        return self._taken

    def submit(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Start ``function`` on the pool, or refuse with :class:`Unavailable` when it is full."""
        if not self._acquire():
            raise Unavailable(
                f"the server is busy with {2 * self.size} storage calls; try again shortly",
                retry_after=max(1, round(self.call_timeout / 4)),
                code="storage-busy",
            )

        def run() -> T:
            # A storage call that makes another one (a listing that checks existence) runs it
            # inline: waiting on the same pool from inside it could wait forever.
            self._local.inside = True
            try:
                return function(*args, **kwargs)
            finally:
                self._local.inside = False

        try:
            future = self._executor.submit(run)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(lambda _: self._release())
        return future

    def _acquire(self) -> bool:
        with self._count_lock:
            if not self._slots.acquire(blocking=False):
                return False
            self._taken += 1
            return True

    def _release(self) -> None:
        with self._count_lock:
            self._taken -= 1
            self._slots.release()

    def call(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``function`` on the pool and wait for it (from a thread)."""
        if getattr(self._local, "inside", False):
            return function(*args, **kwargs)
        future = self.submit(function, *args, **kwargs)
        try:
            return future.result(timeout=self.call_timeout)
        except FutureTimeout:
            raise self._timed_out() from None

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``function`` on the pool and await it (from the event loop)."""
        future = asyncio.wrap_future(self.submit(function, *args, **kwargs))
        # A call given up on still finishes; its error is nobody's to report.
        future.add_done_callback(lambda done: done.cancelled() or done.exception())
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout=self.call_timeout)
        except TimeoutError:
            raise self._timed_out() from None

    def _timed_out(self) -> TimedOut:
        return TimedOut(
            f"the storage service did not answer within {self.call_timeout:g} s "
            "(WHARF_STORAGE_CALL_TIMEOUT_SECONDS); check the datastore's endpoint",
            code="storage-timeout",
        )

    def close(self) -> None:
        """Stop taking calls; running ones finish on their own (bounded by their timeouts)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

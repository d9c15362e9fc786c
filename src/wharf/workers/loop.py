"""The claim-and-run loop both runners share: claim the next item, run it, wait for more.

Claiming is a compare-and-set in the store (``claim_next_build``, ``claim_next_job``), so any
number of threads, in any number of servers, may look at once. A runner says only what differs
through small hooks: how it claims and runs an item, what it recovers at start, and what a
stop means for the items it is running (jobs resume at the next start; builds become Error).
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable

from sqlalchemy.orm import Session

from wharf.services.platform import Platform

logger = logging.getLogger("wharf.workers")

IDLE_SECONDS = 1.0
"""How long an idle thread waits before it looks again unless woken (another server, or an
item whose turn came, may have work for it)."""


class ClaimLoop(ABC):
    """Worker threads that claim items from the store and run them, one at a time each."""

    kind: str = "item"
    """A word for the items ("build", "job"): names the threads and the log lines."""
    stop_timeout: float = 10.0
    """How long :meth:`stop` waits for each thread."""

    def __init__(self, platform: Platform, *, workers: int = 2) -> None:
        self._platform = platform
        self._workers = workers
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._running: dict[int, threading.Event] = {}
        self._lock = threading.Lock()

    # -- the hooks ------------------------------------------------------------------------

    @abstractmethod
    def claim(self, session: Session) -> int | None:
        """Take the next item (its id) in the store, or None when there is nothing to do."""

    @abstractmethod
    def run(self, item_id: int, cancel: threading.Event) -> None:
        """Run a claimed item to its end; ``cancel`` is set by :meth:`interrupt`."""

    def recover(self, session: Session) -> None:  # noqa: B027 -- optional hook
        """Deal with items a stopped server left claimed; called once by :meth:`start`."""

    def on_stop(self) -> None:  # noqa: B027 -- optional hook
        """What a stop does to running items. By default nothing: they run on until the
        threads' join times out, and :meth:`recover` deals with them at the next start."""

    def helpers(self) -> list[tuple[str, Callable[[], None]]]:
        """More threads to run next to the workers: (name, target)."""
        return []

    # -- the loop -------------------------------------------------------------------------

    @property
    def stopping(self) -> threading.Event:
        """Set once :meth:`stop` is called."""
        return self._stopping

    def start(self) -> None:
        with self._platform.transaction() as session:
            self.recover(session)
        targets = [(f"wharf-{self.kind}-{index}", self._loop) for index in range(self._workers)]
        for name, target in targets + self.helpers():
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """Look for work now (called after an item is queued or a cancel is asked)."""
        self._wake.set()

    def stop(self, timeout: float | None = None) -> None:
        self._stopping.set()
        self._wake.set()
        self.on_stop()
        for thread in self._threads:
            thread.join(self.stop_timeout if timeout is None else timeout)
        self._threads.clear()

    def alive(self) -> bool:
        """Whether it was started and every one of its threads still runs (for health)."""
        return bool(self._threads) and all(thread.is_alive() for thread in self._threads)

    def running_ids(self) -> list[int]:
        """The items this runner is running now."""
        with self._lock:
            return list(self._running)

    def interrupt(self, item_id: int) -> None:
        """Set the cancel event of a running item (nothing if it is not running here)."""
        with self._lock:
            event = self._running.get(item_id)
        if event is not None:
            event.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                with self._platform.transaction() as session:
                    item_id = self.claim(session)
            except Exception:
                logger.exception("could not look for %ss", self.kind)
                item_id = None
            if item_id is None:
                self._wake.wait(IDLE_SECONDS)
                self._wake.clear()
                continue
            cancel = threading.Event()
            with self._lock:
                self._running[item_id] = cancel
            try:
                self.run(item_id, cancel)
            except Exception:
                logger.exception("%s %s could not be run", self.kind, item_id)
            finally:
                with self._lock:
                    self._running.pop(item_id, None)

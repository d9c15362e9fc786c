"""One revision's replica set: N supervised replicas, the ready endpoints, in-flight requests."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from wharf.logfiles import LogRotation
from wharf.runtime.limits import EnforcedLimits, LimitSupport
from wharf.runtime.replica import Replica, ReplicaStatus
from wharf.runtime.specs import Endpoint, RevisionSpec, as_command_factory
from wharf.states import AppPhase, ReplicaState


@dataclass(frozen=True)
class ReplicaSetStatus:
    revision: str
    phase: AppPhase
    """``Ready``: every replica answers. ``Progressing``: some are still starting.
    ``Degraded``: some exited and wait to restart. ``Stopped``: all stopped."""
    reason: str | None
    """Why not Ready, in one word: ``OOMKilled``, ``Error``, ``Killed``, ``StartFailed``..."""
    message: str | None
    desired: int
    ready: int
    restarts: int
    limits: EnforcedLimits
    replicas: tuple[ReplicaStatus, ...]


class ReplicaSet:
    """The replicas of one revision, and the traffic bookkeeping a rolling switch needs."""

    def __init__(
        self,
        *,
        name: str,
        spec: RevisionSpec,
        support: LimitSupport,
        logs_dir: Path,
        on_exit: Callable[[Endpoint], None] = lambda endpoint: None,
        log_rotation: LogRotation | None = None,
    ) -> None:
        self.name = name
        self.spec = spec
        self._changed = threading.Condition()
        self._ready: tuple[Endpoint, ...] = ()
        self._turn = itertools.count()
        self._in_flight = 0
        self._stopping = False
        self._support = support
        self._logs_dir = logs_dir
        self._command = as_command_factory(spec.command)
        self._on_exit = on_exit
        self._log_rotation = log_rotation
        # Replaced whole, never mutated: replica threads iterate it without a lock.
        self.replicas = [self._new_replica(index) for index in range(spec.replicas)]

    def _new_replica(self, index: int) -> Replica:
        return Replica(
            index=index,
            name=f"{self.name}-{index}",
            command=self._command,
            limits=self.spec.limits,
            support=self._support,
            log_path=self._logs_dir / f"replica-{index}.log",
            backoff=self.spec.backoff,
            probe_path=self.spec.probe_path,
            on_change=self._refresh,
            on_exit=self._on_exit,
            log_rotation=self._log_rotation,
        )

    @property
    def revision(self) -> str:
        return self.spec.revision

    def start(self) -> None:
        for replica in self.replicas:
            replica.start()

    def _refresh(self) -> None:
        """A replica changed state: recompute where traffic may go, wake waiters."""
        with self._changed:  # computed under the lock: a stale snapshot must not win
            endpoints = (replica.endpoint for replica in self.replicas)
            self._ready = tuple(endpoint for endpoint in endpoints if endpoint is not None)
            self._changed.notify_all()

    # -- traffic ---------------------------------------------------------------------------

    def pick_endpoint(self, avoid: Endpoint | None = None) -> Endpoint | None:
        """The next ready replica, round-robin; one other than ``avoid`` when there is one."""
        ready = self._ready
        if not ready:
            return None
        endpoint = ready[next(self._turn) % len(ready)]
        if endpoint == avoid and len(ready) > 1:
            endpoint = ready[next(self._turn) % len(ready)]
            if endpoint == avoid:
                endpoint = next(e for e in ready if e != avoid)
        return endpoint

    def begin_request(self) -> None:
        with self._changed:
            self._in_flight += 1

    def end_request(self) -> None:
        with self._changed:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._changed.notify_all()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no proxied request is in flight to this set (or it is being stopped);
        False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._in_flight == 0 or self._stopping, timeout)

    # -- lifecycle -------------------------------------------------------------------------

    def wait_ready(self, timeout: float, *, crash_limit: int | None = None) -> bool:
        """Wait until every replica answers HTTP; False on timeout, when being stopped, or
        once a replica has exited ``crash_limit`` times (it crash-loops: waiting longer
        would not help)."""

        def settled() -> bool:
            if len(self._ready) == len(self.replicas) or self._stopping:
                return True
            return crash_limit is not None and self.crash_looping(crash_limit)

        with self._changed:
            self._changed.wait_for(settled, timeout)
            return len(self._ready) == len(self.replicas) and not self._stopping

    def crash_looping(self, limit: int) -> bool:
        """Whether some replica has exited ``limit`` times or more."""
        for replica in self.replicas:
            status = replica.status()
            exited = status.restarts + status.state.exited
            if exited >= limit:
                return True
        return False

    def scale(self, replicas: int, grace: float) -> None:
        """Add replicas (they take traffic once they answer) or stop the newest ones (they
        leave the round-robin first, then finish their requests); the others run on
        untouched."""
        current = self.replicas
        self.spec = replace(self.spec, replicas=replicas)
        if replicas >= len(current):
            added = [self._new_replica(index) for index in range(len(current), replicas)]
            self.replicas = current + added
            for replica in added:
                replica.start()
            return
        kept, removed = current[:replicas], current[replicas:]
        self.replicas = kept
        self._refresh()  # no new request picks a replica being removed
        for replica in removed:
            replica.request_stop(grace)
        deadline = time.monotonic() + grace + 15
        for replica in removed:
            replica.join(max(0.0, deadline - time.monotonic()))

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop(self, grace: float) -> None:
        """SIGTERM every replica's process group, SIGKILL what is left after ``grace``."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        for replica in self.replicas:
            replica.request_stop(grace)
        deadline = time.monotonic() + grace + 15
        for replica in self.replicas:
            replica.join(max(0.0, deadline - time.monotonic()))

    def status(self) -> ReplicaSetStatus:
        replicas = tuple(replica.status() for replica in self.replicas)
        ready = sum(1 for r in replicas if r.state is ReplicaState.READY)
        stopped = all(r.state is ReplicaState.STOPPED for r in replicas) and bool(replicas)
        waiting = [r for r in replicas if r.state.exited]
        reason = message = None
        if stopped:
            phase = AppPhase.STOPPED
        elif ready == len(replicas):
            phase = AppPhase.READY
        elif waiting:
            phase = AppPhase.DEGRADED
        else:
            phase = AppPhase.PROGRESSING
        troubled = waiting or [r for r in replicas if r.state is not ReplicaState.READY]
        failed = next((r for r in troubled if r.last_exit is not None), None)
        if phase is not AppPhase.READY and failed is not None and failed.last_exit is not None:
            reason = failed.last_exit.reason
            message = f"replica {failed.index} {failed.last_exit.message}"
            if failed.restarts:
                times = "once" if failed.restarts == 1 else f"{failed.restarts} times"
                message += f" (restarted {times})"
        limits = replicas[0].limits if replicas else EnforcedLimits()
        return ReplicaSetStatus(
            revision=self.revision,
            phase=phase,
            reason=reason,
            message=message,
            desired=len(replicas),
            ready=ready,
            restarts=sum(r.restarts for r in replicas),
            limits=limits,
            replicas=replicas,
        )

    def explain_not_ready(self, waited: float) -> str:
        """Why the set is not ready, for a rollout that gave up on it."""
        status = self.status()
        lines = [
            f"revision {self.revision}: {status.ready} of {status.desired} replicas ready "
            f"after {waited:.0f} s"
        ]
        for replica in status.replicas:
            if replica.state is ReplicaState.READY:
                continue
            if replica.last_exit is not None:
                lines.append(f"replica {replica.index} {replica.last_exit.message}")
            else:
                lines.append(
                    f"replica {replica.index} does not answer HTTP on port {replica.port} "
                    f"(log: {replica.log_path})"
                )
        return "; ".join(lines)

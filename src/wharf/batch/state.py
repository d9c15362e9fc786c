"""Durable mini-batch state: the store interface the engine writes through, and two stores.

The engine never keeps the only copy of what it has done: it saves the plan before running,
marks an attempt running before sending it to a worker, and records each result after its staged
file is in place. A controller that starts again reads this back and resumes. The database
implementation lives with the job tables; ``MemoryStateStore`` and ``FileStateStore`` serve tests,
benchmarks and embedded use.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

from wharf.batch.planner import MiniBatch

BatchStatus = Literal["pending", "running", "done", "failed"]
FailureKind = Literal["error", "timeout", "worker-died"]


@dataclass(frozen=True)
class Failure:
    """Why one attempt of a mini-batch failed, in words a person can act on.

    ``call`` is what was being called (``run()``, ``predict()``, ``init()``...), ``where`` the
    item it failed on when the worker knows it (``heart-003.csv row 17``), ``items`` the names of
    every item the mini-batch held.
    """

    kind: FailureKind
    call: str
    exception: str
    message: str
    traceback: str
    where: str | None
    items: tuple[str, ...] = ()

    def describe(self, batch_label: str | None) -> str:
        """One line naming the root cause: ``run() raised KeyError: 'age' on heart-003.csv``.

        ``batch_label`` names the mini-batch when the worker could not say which item failed.
        """
        where = self.where or batch_label
        on = f" on {where}" if where else ""
        if self.kind == "timeout":
            return f"{self.call} did not finish within {self.message}{on}"
        if self.kind == "worker-died":
            return f"the worker process died ({self.message}) during {self.call}{on}"
        text = f"{self.exception}: {self.message}" if self.message else self.exception
        return f"{self.call} raised {text}{on}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "call": self.call,
            "exception": self.exception,
            "message": self.message,
            "traceback": self.traceback,
            "where": self.where,
            "items": list(self.items),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Failure:
        return cls(
            kind=data["kind"],
            call=data["call"],
            exception=data["exception"],
            message=data["message"],
            traceback=data["traceback"],
            where=data["where"],
            items=tuple(data.get("items", ())),
        )


@dataclass(frozen=True)
class BatchState:
    """What is known about one mini-batch.

    ``attempt`` is the highest attempt id ever handed out (ids only grow, across restarts, so a
    result from an older attempt is recognised as stale); ``failures`` counts failed attempts,
    which is what ``max_retries`` limits; attempts cut short by a controller restart are not
    failures.
    """

    status: BatchStatus = "pending"
    attempt: int = 0
    failures: int = 0
    staged_path: str | None = None
    rows: int = 0
    last_failure: Failure | None = None


class BatchStateStore(Protocol):
    """Where the engine persists a job's plan and mini-batch states (one store per job).

    Every method must be durable when it returns: the controller may be killed at any point.
    """

    def load_plan(self) -> list[MiniBatch] | None:
        """The plan saved by ``save_plan``, or None if the job never got that far."""
        ...

    def save_plan(self, batches: Sequence[MiniBatch]) -> None:
        """Save the plan once, before anything runs; every batch starts ``pending``."""
        ...

    def read_batch_states(self) -> dict[int, BatchState]:
        """Every mini-batch's state, by mini-batch id."""
        ...

    def mark_running(self, batch_id: int, attempt: int) -> None:
        """Attempt ``attempt`` of the batch is about to be sent to a worker."""
        ...

    def record_result(
        self, batch_id: int, attempt: int, staged_path: str | None, rows: int
    ) -> None:
        """The attempt succeeded; its output is at ``staged_path`` (None for ``summary_only``)."""
        ...

    def record_failure(self, batch_id: int, attempt: int, failure: Failure, *, final: bool) -> None:
        """The attempt failed; ``final`` means no retry follows and the batch is ``failed``."""
        ...


def pending_batches(plan: Sequence[MiniBatch], states: dict[int, BatchState]) -> list[MiniBatch]:
    """Mini-batches still to run, in plan order: never started, or cut short while running."""
    return [batch for batch in plan if states[batch.id].status in ("pending", "running")]


@dataclass
class MemoryStateStore:
    """A store that keeps everything in memory: for tests and one-shot runs."""

    _plan: list[MiniBatch] | None = None
    _states: dict[int, BatchState] = field(default_factory=dict)

    def load_plan(self) -> list[MiniBatch] | None:
        return None if self._plan is None else list(self._plan)

    def save_plan(self, batches: Sequence[MiniBatch]) -> None:
        self._record({"event": "plan", "batches": [batch.to_dict() for batch in batches]})

    def read_batch_states(self) -> dict[int, BatchState]:
        return dict(self._states)

    def mark_running(self, batch_id: int, attempt: int) -> None:
        self._record({"event": "running", "batch": batch_id, "attempt": attempt})

    def record_result(
        self, batch_id: int, attempt: int, staged_path: str | None, rows: int
    ) -> None:
        self._record(
            {
                "event": "result",
                "batch": batch_id,
                "attempt": attempt,
                "staged_path": staged_path,
                "rows": rows,
            }
        )

    def record_failure(self, batch_id: int, attempt: int, failure: Failure, *, final: bool) -> None:
        self._record(
            {
                "event": "failure",
                "batch": batch_id,
                "attempt": attempt,
                "failure": failure.to_dict(),
                "final": final,
            }
        )

    def _record(self, event: dict[str, Any]) -> None:
        self._apply(event)

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "plan":
            self._plan = [MiniBatch.from_dict(batch) for batch in event["batches"]]
            self._states = {batch.id: BatchState() for batch in self._plan}
            return
        batch_id = event["batch"]
        state = self._states[batch_id]
        attempt = max(state.attempt, event["attempt"])
        if kind == "running":
            self._states[batch_id] = replace(state, status="running", attempt=attempt)
        elif kind == "result":
            self._states[batch_id] = replace(
                state,
                status="done",
                attempt=attempt,
                staged_path=event["staged_path"],
                rows=event["rows"],
            )
        elif kind == "failure":
            self._states[batch_id] = replace(
                state,
                status="failed" if event["final"] else "pending",
                attempt=attempt,
                failures=state.failures + 1,
                last_failure=Failure.from_dict(event["failure"]),
            )


class FileStateStore(MemoryStateStore):
    """A store that appends each change to a JSON-lines journal and fsyncs it.

    Opening an existing journal replays it, so a controller started again with the same path
    sees what the killed one had recorded. A torn last line (a kill during a write) is ignored:
    the change it described had not been acknowledged.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        if path.exists():
            data = path.read_bytes()
            complete = data[: data.rfind(b"\n") + 1]
            if len(complete) != len(data):
                # Cut the torn line off, or the next append would glue itself onto it.
                with path.open("r+b") as journal:
                    journal.truncate(len(complete))
            for line in complete.decode("utf-8").splitlines():
                self._apply(json.loads(line))

    def _record(self, event: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as journal:
            journal.write(json.dumps(event) + "\n")
            journal.flush()
            os.fsync(journal.fileno())
        self._apply(event)

"""The batch engine's state store in the database: one row per mini-batch of a job.

Each method commits before it returns, so what the engine has recorded survives a server that
is killed at any moment; ``run_job`` reads it back when the job resumes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from wharf.batch.planner import MiniBatch
from wharf.batch.state import BatchState, Failure
from wharf.services.platform import Platform
from wharf.store.models import JobMiniBatch


class DatabaseStateStore:
    """A ``BatchStateStore`` for one job, in the ``job_mini_batches`` table."""

    def __init__(self, platform: Platform, job_id: int) -> None:
        self._platform = platform
        self._job_id = job_id
        self._sent: dict[tuple[int, int], float] = {}
        """When each running attempt was sent (for the mini-batch duration metric)."""

    def load_plan(self) -> list[MiniBatch] | None:
        with self._platform.transaction() as session:
            rows = session.execute(
                select(JobMiniBatch.batch_id, JobMiniBatch.items)
                .where(JobMiniBatch.job_id == self._job_id)
                .order_by(JobMiniBatch.batch_id)
            ).all()
        if not rows:
            return None
        return [MiniBatch.from_dict({"id": batch_id, "items": items}) for batch_id, items in rows]

    def save_plan(self, batches: Sequence[MiniBatch]) -> None:
        with self._platform.transaction() as session:
            session.execute(delete(JobMiniBatch).where(JobMiniBatch.job_id == self._job_id))
            session.add_all(
                JobMiniBatch(
                    job_id=self._job_id,
                    batch_id=batch.id,
                    items=batch.to_dict()["items"],
                    status="pending",
                    attempt=0,
                    failures=0,
                    rows=0,
                )
                for batch in batches
            )

    def read_batch_states(self) -> dict[int, BatchState]:
        with self._platform.transaction() as session:
            rows = session.scalars(
                select(JobMiniBatch).where(JobMiniBatch.job_id == self._job_id)
            ).all()
            return {
                row.batch_id: BatchState(
                    status=row.status,  # type: ignore[arg-type]
                    attempt=row.attempt,
                    failures=row.failures,
                    staged_path=row.staged_path,
                    rows=row.rows,
                    last_failure=(
                        Failure.from_dict(row.last_failure) if row.last_failure else None
                    ),
                )
                for row in rows
            }

    def mark_running(self, batch_id: int, attempt: int) -> None:
        self._update(batch_id, attempt, status="running")
        self._sent[batch_id, attempt] = time.monotonic()

    def record_result(
        self, batch_id: int, attempt: int, staged_path: str | None, rows: int
    ) -> None:
        self._update(batch_id, attempt, status="done", staged_path=staged_path, rows=rows)
        self._count(batch_id, attempt, "done")

    def record_failure(self, batch_id: int, attempt: int, failure: Failure, *, final: bool) -> None:
        self._count(batch_id, attempt, "failed" if final else "retried")
        self._update(
            batch_id,
            attempt,
            status="failed" if final else "pending",
            failures=JobMiniBatch.failures + 1,
            last_failure=failure.to_dict(),
        )

    def _count(self, batch_id: int, attempt: int, result: str) -> None:
        sent = self._sent.pop((batch_id, attempt), None)
        seconds = None if sent is None else time.monotonic() - sent
        self._platform.metrics.observe_mini_batch(result, seconds)

    def _update(self, batch_id: int, attempt: int, **values: Any) -> None:
        with self._platform.transaction() as session:
            # Attempt ids only grow: keep the highest one ever handed out.
            greatest = func.max if session.get_bind().dialect.name == "sqlite" else func.greatest
            session.execute(
                update(JobMiniBatch)
                .where(JobMiniBatch.job_id == self._job_id, JobMiniBatch.batch_id == batch_id)
                .values(attempt=greatest(JobMiniBatch.attempt, attempt), **values)
            )


def read_failed_batches(session: Session, job_id: int) -> list[JobMiniBatch]:
    """Mini-batches of the job that failed for good, in input order."""
    return list(
        session.scalars(
            select(JobMiniBatch)
            .where(JobMiniBatch.job_id == job_id, JobMiniBatch.status == "failed")
            .order_by(JobMiniBatch.batch_id)
        )
    )

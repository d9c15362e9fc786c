"""Jobs: one invocation of a batch endpoint, and the states it moves through
(:class:`~wharf.states.JobStatus`).

    Queued → Preparing → Running → Finalizing → Completed | Failed
    Queued → Canceled;  Preparing/Running/Finalizing → CancelRequested → Canceled

Every change of state is a compare-and-set on the current state, so the runner, a cancel and
a restarted server never overwrite each other. Invoking (creating) a job is in ``job_invoke``.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.orm import Session

from wharf.batch.engine import JobProgress
from wharf.config import Settings
from wharf.errors import Conflict, NotFound
from wharf.logfiles import read_tail
from wharf.services import workspaces
from wharf.states import JobStatus
from wharf.store.models import Job, Workspace
from wharf.store.types import utcnow

STARTED = tuple(status for status in JobStatus if status.started)


def job_dir(settings: Settings, workspace: str, name: str) -> Path:
    """A job's local folder: its log, staged results, inputs copied from remote storage."""
    return settings.data_dir / "batch" / "jobs" / workspace / name


def job_log_path(settings: Settings, workspace: str, name: str) -> Path:
    return job_dir(settings, workspace, name) / "job.log"


def read_log_tail(settings: Settings, workspace: str, name: str, lines: int = 500) -> str:
    """The last ``lines`` lines of a job's log (empty before it wrote any)."""
    found, _ = read_tail(job_log_path(settings, workspace, name), lines)
    return b"\n".join(found).decode("utf-8", "replace")


def read_job(session: Session, workspace: Workspace, name: str) -> Job:
    job = session.scalar(select(Job).where(Job.workspace_id == workspace.id, Job.name == name))
    if job is None:
        raise NotFound(f"job {name!r} does not exist in workspace {workspace.name!r}")
    return job


def read_job_by_id(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} does not exist any more")
    return job


@dataclass(frozen=True)
class JobFilter:
    """Which jobs a listing shows; ``None`` leaves a field unfiltered."""

    endpoint: str | None = None
    deployment: str | None = None
    experiment_name: str | None = None
    status: JobStatus | None = None
    created_by: str | None = None

    def wanted(self) -> dict[str, str]:
        """The fields that filter, and the value each must have."""
        return {k: str(v) for k, v in vars(self).items() if v is not None}


@dataclass(frozen=True, slots=True)
class ListedJob:
    """A job as a listing shows it: every column but its ``spec``, as plain values. Listed
    jobs are read as rows, not ORM objects, which cost several times as much to load."""

    name: str
    endpoint: str
    deployment: str
    kind: str
    status: str
    experiment_name: str
    created_by: str | None
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    settings: dict[str, Any]
    progress: dict[str, Any]
    steps: list[dict[str, Any]]
    error: str | None
    cancel_requested: bool
    resumed: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    first_mini_batch_at: datetime | None
    first_run_at: datetime | None


_LISTED_COLUMNS = [Job.__table__.c[field.name] for field in fields(ListedJob)]


@dataclass(frozen=True)
class JobPage:
    """One page of a job listing and how many jobs the whole listing holds."""

    jobs: list[ListedJob]
    total: int
    offset: int
    limit: int


def list_jobs(
    session: Session,
    workspace_name: str,
    where: JobFilter | None = None,
    *,
    offset: int = 0,
    limit: int = 100,
) -> JobPage:
    """Jobs of the workspace called ``workspace_name``, newest first: ``limit`` of them from
    ``offset``, with the count of all that match; without their ``spec`` (a listing never
    shows it: :func:`read_job` does)."""
    wanted = (where or JobFilter()).wanted()
    count, newest = _listing_statements(tuple(sorted(wanted)))
    connection = session.connection()
    values = {"workspace": workspace_name, **wanted}
    total = connection.scalar(count, values) or 0
    if not total:
        workspaces.read_workspace(session, workspace_name)  # no jobs, or no such workspace?
        return JobPage([], 0, offset, limit)
    rows = connection.execute(newest, {**values, "offset": offset, "limit": limit})
    return JobPage([ListedJob(*row) for row in rows], total, offset, limit)


@functools.cache
def _listing_statements(filtered: tuple[str, ...]) -> tuple[Select[Any], Select[Any]]:
    """The count and the page of a listing that filters on ``filtered``: built once each,
    so the store reuses their compiled form (building and keying them cost as much as
    running them)."""
    matching = select(Job.id).join(Workspace).where(Workspace.name == bindparam("workspace"))
    for name in filtered:
        matching = matching.where(Job.__table__.c[name] == bindparam(name))
    newest = matching.with_only_columns(*_LISTED_COLUMNS).order_by(Job.id.desc())
    return (
        matching.with_only_columns(func.count()),
        newest.offset(bindparam("offset")).limit(bindparam("limit")),
    )


@dataclass(frozen=True)
class JobFilterChoices:
    """The values the workspace's jobs have for each filter (for pickers), sorted."""

    endpoints: list[str]
    deployments: list[str]
    experiment_names: list[str]
    created_by: list[str]


def list_job_filter_choices(session: Session, workspace: Workspace) -> JobFilterChoices:
    def distinct(column: Any) -> list[str]:
        query = select(column).where(Job.workspace_id == workspace.id, column.is_not(None))
        return sorted(session.scalars(query.distinct()))

    return JobFilterChoices(
        endpoints=distinct(Job.endpoint),
        deployments=distinct(Job.deployment),
        experiment_names=distinct(Job.experiment_name),
        created_by=distinct(Job.created_by),
    )


@dataclass(frozen=True)
class ProgressView:
    """A job's progress numbers and the shares a progress bar draws (whole percents)."""

    counts: JobProgress
    status: JobStatus

    @property
    def percent_done(self) -> int:
        return self._share(self.counts.mini_batches_done)

    @property
    def percent_failed(self) -> int:
        return self._share(self.counts.mini_batches_failed)

    @property
    def ended(self) -> bool:
        return self.status.ended

    def _share(self, part: int) -> int:
        total = self.counts.mini_batches_total
        return 0 if total <= 0 else min(100, part * 100 // total)

    def describe(self) -> str:
        """``12 of 40 mini-batches done, 1 failed; 36 rows written``."""
        c = self.counts
        if not c.mini_batches_total:
            return "not planned yet" if not self.ended else "no mini-batches"
        text = f"{c.mini_batches_done} of {c.mini_batches_total} mini-batches done"
        if c.mini_batches_failed:
            text += f", {c.mini_batches_failed} failed"
        if c.mini_batches_running:
            text += f", {c.mini_batches_running} running"
        return f"{text}; {c.rows_written} rows written"


_PROGRESS_COUNTS = frozenset(field.name for field in fields(JobProgress))


def read_progress(job: Job | ListedJob) -> ProgressView:
    """The progress the job's runner last recorded (zeros before it planned)."""
    recorded = job.progress or {}
    counts = JobProgress(**{k: int(v) for k, v in recorded.items() if k in _PROGRESS_COUNTS})
    return ProgressView(counts, JobStatus(job.status))


def cancel_job(session: Session, workspace: Workspace, name: str) -> Job:
    """A Queued job is Canceled at once; a started one is asked to stop (its runner ends it
    within seconds)."""
    job = read_job(session, workspace, name)
    if _move(
        session,
        job.id,
        (JobStatus.QUEUED,),
        JobStatus.CANCELED,
        finished_at=utcnow(),
        cancel_requested=True,
    ):
        session.refresh(job)
        return job
    if _move(session, job.id, STARTED, JobStatus.CANCEL_REQUESTED, cancel_requested=True):
        session.refresh(job)
        return job
    session.refresh(job)
    if job.status == JobStatus.CANCEL_REQUESTED:
        return job
    raise Conflict(f"job {name!r} has ended already ({job.status})")


def _move(session: Session, job_id: int, sources: tuple[str, ...], to: str, **values: Any) -> bool:
    moved = session.execute(
        update(Job).where(Job.id == job_id, Job.status.in_(sources)).values(status=to, **values)
    )
    return bool(moved.rowcount)  # type: ignore[attr-defined]


def claim_next_job(session: Session) -> Job | None:
    """Move the oldest Queued job to Preparing and return it (safe against other claimers)."""
    candidates = session.scalars(
        select(Job).where(Job.status == JobStatus.QUEUED).order_by(Job.id).limit(5)
    ).all()
    for job in candidates:
        values: dict[str, Any] = {} if job.started_at else {"started_at": utcnow()}
        if _move(session, job.id, (JobStatus.QUEUED,), JobStatus.PREPARING, **values):
            session.refresh(job)
            return job
    return None


def advance_job(session: Session, job_id: int, to: JobStatus) -> bool:
    """Preparing → Running → Finalizing; False when a cancel request came first."""
    sources = {
        JobStatus.RUNNING: (JobStatus.PREPARING,),
        JobStatus.FINALIZING: (JobStatus.RUNNING, JobStatus.PREPARING),
    }[to]
    return _move(session, job_id, sources, to)


def record_progress(session: Session, job_id: int, progress: JobProgress) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(progress=asdict(progress)))


def record_steps(session: Session, job_id: int, steps: list[dict[str, Any]]) -> None:
    """A pipeline job's step states, as its runner sees them."""
    session.execute(update(Job).where(Job.id == job_id).values(steps=steps))


def finish_job(
    session: Session,
    job_id: int,
    status: JobStatus,
    *,
    error: str | None = None,
    progress: JobProgress | None = None,
) -> bool:
    """Record how a job ended (once: False if it had ended already)."""
    if not status.ended:
        raise ValueError(f"{status} is not a final status")
    values: dict[str, Any] = {"error": error, "finished_at": utcnow()}
    if progress is not None:
        values["progress"] = asdict(progress)
    return _move(
        session, job_id, (JobStatus.QUEUED, *STARTED, JobStatus.CANCEL_REQUESTED), status, **values
    )


def record_first_runs(
    session: Session,
    job_id: int,
    *,
    first_mini_batch_at: datetime | None,
    first_run_at: datetime | None,
) -> None:
    """When the job's first mini-batch was handed out and its first call started; a resumed
    job keeps the times of its first run."""
    job = session.get(Job, job_id)
    if job is None:
        return
    job.first_mini_batch_at = job.first_mini_batch_at or first_mini_batch_at
    job.first_run_at = job.first_run_at or first_run_at


def job_has_ended(session: Session, job_id: int) -> bool:
    """Whether the job is in a final state (or gone)."""
    job = session.get(Job, job_id)
    return job is None or JobStatus(job.status).ended


def cancel_requested_ids(session: Session, job_ids: list[int]) -> list[int]:
    if not job_ids:
        return []
    return list(
        session.scalars(select(Job.id).where(Job.id.in_(job_ids), Job.cancel_requested.is_(True)))
    )


def recover_interrupted_jobs(session: Session) -> tuple[int, int]:
    """At start: jobs a stopped server was running go back to Queued (to resume, first in
    line); those it was asked to cancel are Canceled. Returns (resumed, canceled)."""
    canceled = session.execute(
        update(Job)
        .where(Job.status == JobStatus.CANCEL_REQUESTED)
        .values(status=JobStatus.CANCELED, finished_at=utcnow())
    ).rowcount  # type: ignore[attr-defined]
    resumed = session.execute(
        update(Job)
        .where(Job.status.in_(STARTED))
        .values(status=JobStatus.QUEUED, resumed=Job.resumed + 1)
    ).rowcount  # type: ignore[attr-defined]
    return int(resumed), int(canceled)

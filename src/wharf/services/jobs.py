"""Jobs: one invocation of a batch endpoint, and the states it moves through
(:class:`~wharf.states.JobStatus`).

    Queued → Preparing → Running → Finalizing → Completed | Failed
    Queued → Canceled;  Preparing/Running/Finalizing → CancelRequested → Canceled

Every change of state is a compare-and-set on the current state, so the runner, a cancel and
a restarted server never overwrite each other. Invoking (creating) a job is in ``job_invoke``.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, defer

from wharf.batch.engine import JobProgress
from wharf.config import Settings
from wharf.errors import Conflict, NotFound
from wharf.states import JobStatus
from wharf.store.models import Job, Workspace
from wharf.store.types import utcnow

STARTED = tuple(status for status in JobStatus if status.started)


def job_dir(settings: Settings, workspace: str, name: str) -> Path:
    """A job's local folder: its log, staged results, inputs copied from remote storage."""
    return settings.data_dir / "batch" / "jobs" / workspace / name


def job_log_path(settings: Settings, workspace: str, name: str) -> Path:
    return job_dir(settings, workspace, name) / "job.log"


def read_job(session: Session, workspace: Workspace, name: str) -> Job:
    job = session.scalar(select(Job).where(Job.workspace_id == workspace.id, Job.name == name))
    if job is None:
        raise NotFound(f"job {name!r} does not exist in workspace {workspace.name!r}")
    return job


def list_jobs(
    session: Session,
    workspace: Workspace,
    *,
    endpoint: str | None = None,
    experiment_name: str | None = None,
    status: JobStatus | None = None,
    limit: int = 100,
) -> list[Job]:
    """Jobs, newest first, without their ``spec`` (a listing never shows it; reading it from a
    listed job loads it then)."""
    query = select(Job).options(defer(Job.spec)).where(Job.workspace_id == workspace.id)
    if endpoint is not None:
        query = query.where(Job.endpoint == endpoint)
    if experiment_name is not None:
        query = query.where(Job.experiment_name == experiment_name)
    if status is not None:
        query = query.where(Job.status == status)
    return list(session.scalars(query.order_by(Job.id.desc()).limit(limit)))


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

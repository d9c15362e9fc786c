"""Why a job failed: its mini-batches that failed for good (items, error, traceback) and the
root cause a person reads first."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from wharf.batch.planner import MiniBatch
from wharf.batch.state import Failure
from wharf.config import Settings
from wharf.logfiles import read_tail
from wharf.services import job_state, jobs
from wharf.states import JobStatus
from wharf.store.models import Job, JobMiniBatch, Workspace

LOG_LINES_SEARCHED = 400
"""How far back the job's log is searched for a traceback when no mini-batch recorded one (a
worker whose ``init()`` failed writes it there)."""
TRACEBACK_START = "Traceback (most recent call last):"


@dataclass(frozen=True)
class FailedBatch:
    """A mini-batch that failed for good: what it held and its last attempt's failure."""

    mini_batch: int
    """1-based, in input order."""
    label: str
    items: list[str]
    failure: Failure

    @property
    def root_cause(self) -> str:
        return self.failure.describe(self.label)


@dataclass(frozen=True)
class RootCause:
    """What a failed job's page shows first: the error in one line, and the traceback behind
    it when one was recorded (``source`` says where it came from)."""

    message: str
    traceback: str | None
    source: str
    """``mini-batch N`` or ``the job log``; empty without a traceback."""


def failed_batch_of(row: JobMiniBatch) -> FailedBatch:
    batch = MiniBatch.from_dict({"id": row.batch_id, "items": row.items})
    assert row.last_failure is not None
    failure = Failure.from_dict(row.last_failure)
    return FailedBatch(
        mini_batch=row.batch_id + 1,
        label=batch.label,
        items=list(failure.items) or [item.label for item in batch.items],
        failure=failure,
    )


def list_failed_batches(session: Session, job: Job) -> list[FailedBatch]:
    """The job's mini-batches that failed for good, in input order."""
    return [failed_batch_of(row) for row in job_state.read_failed_batches(session, job.id)]


def read_root_cause(
    session: Session, settings: Settings, workspace: Workspace, job: Job
) -> RootCause | None:
    """The root cause of a Failed job (None for any other): its error, with the traceback of
    the first mini-batch that failed, else the last traceback in its log."""
    if job.status != JobStatus.FAILED:
        return None
    message = job.error or "the job failed without saying why"
    failed = list_failed_batches(session, job)
    if failed and failed[0].failure.traceback:
        first = failed[0]
        return RootCause(message, first.failure.traceback, f"mini-batch {first.mini_batch}")
    found = last_traceback(jobs.job_log_path(settings, workspace.name, job.name))
    return RootCause(message, found, "the job log" if found else "")


def last_traceback(log_path: Path) -> str | None:
    """The last Python traceback among the log's last lines, through its exception line, with
    the prefix the log put before each of its lines taken off."""
    lines, _ = read_tail(log_path, LOG_LINES_SEARCHED)
    text = [line.decode("utf-8", "replace") for line in lines]
    starts = [n for n, line in enumerate(text) if TRACEBACK_START in line]
    if not starts:
        return None
    first = text[starts[-1]]
    prefix = first[: first.index(TRACEBACK_START)]
    found = [TRACEBACK_START]
    for line in text[starts[-1] + 1 :]:
        if not line.startswith(prefix):
            break
        line = line[len(prefix) :]
        found.append(line)
        if line and not line[0].isspace():
            break  # the exception line ends it
    return "\n".join(found)

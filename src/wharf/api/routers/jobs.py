"""Jobs: list, show, follow the log, cancel, download outputs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from fastapi import Query, Request
from fastapi.responses import PlainTextResponse, StreamingResponse
from sqlalchemy.orm import Session

from wharf.api.deps import Access, PlatformDep, WorkspaceName, require
from wharf.api.logstream import stream_log
from wharf.api.routing import APIRouter
from wharf.batch.planner import MiniBatch
from wharf.batch.state import Failure
from wharf.errors import Invalid
from wharf.schemas import batch as schemas
from wharf.schemas import storage as storage_schemas
from wharf.services import job_outputs, job_state, jobs, workspaces
from wharf.services.platform import Platform
from wharf.states import JobStatus
from wharf.store import models

router = APIRouter(prefix="/workspaces/{ws}/jobs", tags=["jobs"])

DOWNLOAD_CHUNK = 1024 * 1024
DEFAULT_PAGE = 20
"""Jobs a listing returns unless ``limit`` says otherwise: the newest, as a console shows
them. The CLI asks for 100; each job costs the server about 0.1 ms of CPU to list."""


def failure_out(row: models.JobMiniBatch) -> schemas.JobFailure:
    batch = MiniBatch.from_dict({"id": row.batch_id, "items": row.items})
    assert row.last_failure is not None
    failure = Failure.from_dict(row.last_failure)
    return schemas.JobFailure(
        mini_batch=row.batch_id + 1,
        label=batch.label,
        items=list(failure.items) or [item.label for item in batch.items],
        kind=failure.kind,
        call=failure.call,
        exception=failure.exception,
        message=failure.message,
        where=failure.where,
        traceback=failure.traceback,
        root_cause=failure.describe(batch.label),
    )


def job_out(
    platform: Platform, ws: str, job: models.Job, failures: list[models.JobMiniBatch] | None = None
) -> schemas.Job:
    duration = None
    if job.started_at and job.finished_at:
        duration = (job.finished_at - job.started_at).total_seconds()
    base = platform.settings.effective_public_url
    return schemas.Job(
        name=job.name,
        endpoint=job.endpoint,
        deployment=job.deployment,
        kind=job.kind,
        status=job.status,
        experiment_name=job.experiment_name,
        created_by=job.created_by,
        inputs={k: schemas.JobInputOut.model_validate(v) for k, v in job.inputs.items()},
        outputs={k: schemas.JobOutputOut.model_validate(v) for k, v in job.outputs.items()},
        settings=job.settings,
        progress=schemas.JobProgress.model_validate(job.progress or {}),
        steps=list(job.steps or []),
        error=job.error,
        failures=[failure_out(row) for row in failures or []],
        cancel_requested=job.cancel_requested,
        resumed=job.resumed,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        first_mini_batch_at=job.first_mini_batch_at,
        first_run_at=job.first_run_at,
        duration_seconds=duration,
        log_url=f"{base}/api/v1/workspaces/{ws}/jobs/{job.name}/log",
    )


def job_detail(platform: Platform, ws: str, job: models.Job, session: Session) -> schemas.Job:
    return job_out(platform, ws, job, job_state.read_failed_batches(session, job.id))


_LIST_FILTERS = {"endpoint", "experiment_name", "status", "limit"}


@router.get("", response_model=list[schemas.Job])
def list_jobs(
    ws: WorkspaceName,
    request: Request,
    platform: PlatformDep,
    endpoint: str | None = Query(default=None, description="only this endpoint's jobs"),
    experiment_name: str | None = Query(
        default=None, description="only this experiment's jobs (default: the endpoint's name)"
    ),
    status: JobStatus | None = Query(default=None, description="only jobs in this status"),
    limit: int = Query(
        default=DEFAULT_PAGE, ge=1, le=1000, description="at most this many (the newest)"
    ),
    _: Access = require("jobs/read"),
) -> list[schemas.Job]:
    """Jobs, newest first (without their failures: show a job for those). An unknown filter
    is a 422, not ignored: a misspelt one would otherwise list every job."""
    unknown = sorted(set(request.query_params) - _LIST_FILTERS)
    if unknown:
        raise Invalid(
            f"unknown query parameter {unknown[0]!r}; jobs are filtered by "
            f"{', '.join(sorted(_LIST_FILTERS))}",
            field=unknown[0],
        )
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        found = jobs.list_jobs(
            session,
            workspace,
            endpoint=endpoint,
            experiment_name=experiment_name,
            status=status,
            limit=limit,
        )
        return [job_out(platform, ws, job) for job in found]


@router.get("/{name}", response_model=schemas.Job)
def read_job(
    ws: WorkspaceName, name: str, platform: PlatformDep, _: Access = require("jobs/read")
) -> schemas.Job:
    """One job, with its progress, error and the mini-batches that failed for good."""
    with platform.transaction() as session:
        job = jobs.read_job(session, workspaces.read_workspace(session, ws), name)
        return job_detail(platform, ws, job, session)


@router.post("/{name}/cancel", response_model=schemas.Job)
def cancel_job(
    ws: WorkspaceName,
    name: str,
    request: Request,
    platform: PlatformDep,
    _: Access = require("jobs/write"),
) -> schemas.Job:
    """Cancel a job: at once when Queued; a running one stops within seconds (CancelRequested,
    then Canceled)."""
    with platform.transaction() as session:
        job = jobs.cancel_job(session, workspaces.read_workspace(session, ws), name)
        result = job_detail(platform, ws, job, session)
    platform.job_runner.wake()
    return result


@router.get("/{name}/log", response_class=PlainTextResponse)
def read_job_log(
    ws: WorkspaceName,
    name: str,
    platform: PlatformDep,
    follow: bool = Query(default=False, description="stream until the job ends"),
    _: Access = require("jobs/read"),
) -> StreamingResponse:
    """The job's log (the engine's lines, every worker's output, every attempt); with
    ``follow=true`` it streams live until the job ends."""
    with platform.transaction() as session:
        job_id = jobs.read_job(session, workspaces.read_workspace(session, ws), name).id
    path = jobs.job_log_path(platform.settings, ws, name)
    return StreamingResponse(
        stream_log(path, follow=follow, finished=lambda: _is_finished(platform, job_id)),
        media_type="text/plain; charset=utf-8",
    )


def _is_finished(platform: Platform, job_id: int) -> bool:
    with platform.transaction() as session:
        return jobs.job_has_ended(session, job_id)


@router.get(
    "/{name}/outputs/{output}",
    responses={
        200: {
            "description": "a uri_file output (or ?path= in a folder output): the file; a "
            "uri_folder output: a JSON list of its files",
            "content": {"application/octet-stream": {}, "application/json": {}},
        }
    },
)
async def download_output(
    ws: WorkspaceName,
    name: str,
    output: str,
    platform: PlatformDep,
    path: str | None = Query(default=None, description="a file inside a folder output"),
    _: Access = require("jobs/read"),
) -> Any:
    """Download an output of a Completed job: the file of a ``uri_file`` output (``score`` of a
    model deployment is its predictions file); for a ``uri_folder`` output, the list of its
    files as JSON, and one of them with ``?path=<relative path>``."""

    def open_output() -> job_outputs.OutputView:
        with platform.transaction() as session:
            return job_outputs.open_output(
                session, platform, workspaces.read_workspace(session, ws), name, output, path
            )

    # Storage calls run in the storage pool, never on the threads that serve the API.
    view = await platform.storage.run(open_output)
    if view.files is not None:
        return [storage_schemas.StoredFile(path=f, type="file") for f in view.files]
    location = view.location
    file_name = view.reference.rstrip("/").rsplit("/", 1)[-1]

    async def body() -> AsyncIterator[bytes]:
        handle = await platform.storage.run(location.fs.open, location.path, "rb")
        try:
            while chunk := await platform.storage.run(handle.read, DOWNLOAD_CHUNK):
                yield chunk
        finally:
            await anyio.to_thread.run_sync(handle.close)

    return StreamingResponse(
        body(),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{file_name}"'},
    )

"""Jobs: list, show, follow the log, cancel, download outputs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

import anyio.to_thread
from fastapi import Query, Request, Response
from fastapi.responses import PlainTextResponse, StreamingResponse
from sqlalchemy.orm import Session

from wharf.api.deps import Access, PlatformDep, WorkspaceName, require
from wharf.api.logstream import stream_log
from wharf.api.routing import APIRouter, store_read
from wharf.errors import Invalid
from wharf.schemas import batch as schemas
from wharf.schemas import storage as storage_schemas
from wharf.services import job_failures, job_outputs, jobs, workspaces
from wharf.services.platform import Platform
from wharf.states import JobStatus
from wharf.store import models

router = APIRouter(prefix="/workspaces/{ws}/jobs", tags=["jobs"])

DOWNLOAD_CHUNK = 1024 * 1024
OUTPUT_FILE = Query(default=None, description="a file inside a folder output")
DEFAULT_PAGE = 20
"""Jobs a listing returns unless ``limit`` says otherwise: the newest, as a console shows
them. The CLI asks for 100; each job costs the server about 0.1 ms of CPU to list."""


def failure_out(failed: job_failures.FailedBatch) -> schemas.JobFailure:
    failure = failed.failure
    return schemas.JobFailure(
        mini_batch=failed.mini_batch,
        label=failed.label,
        items=failed.items,
        kind=failure.kind,
        call=failure.call,
        exception=failure.exception,
        message=failure.message,
        where=failure.where,
        traceback=failure.traceback,
        root_cause=failed.root_cause,
    )


def job_out(
    platform: Platform,
    ws: str,
    job: models.Job | jobs.ListedJob,
    failures: list[job_failures.FailedBatch] | None = None,
    root_cause: job_failures.RootCause | None = None,
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
        inputs=job.inputs,  # stored as the schema reads them: validated once, in the model
        outputs=job.outputs,
        settings=job.settings,
        progress=schemas.JobProgress.model_validate(vars(jobs.read_progress(job).counts)),
        steps=list(job.steps or []),
        error=job.error,
        failures=[failure_out(failed) for failed in failures or []],
        root_cause=(
            None
            if root_cause is None
            else schemas.JobRootCause(
                message=root_cause.message,
                traceback=root_cause.traceback,
                source=root_cause.source,
            )
        ),
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
    workspace = workspaces.read_workspace(session, ws)
    return job_out(
        platform,
        ws,
        job,
        job_failures.list_failed_batches(session, job),
        job_failures.read_root_cause(session, platform.settings, workspace, job),
    )


_LIST_FILTERS = {
    "endpoint",
    "deployment",
    "experiment_name",
    "status",
    "created_by",
    "offset",
    "limit",
}


@router.get(
    "",
    response_model=list[schemas.Job],
    responses={
        200: {
            "headers": {
                "X-Total-Count": {
                    "description": "how many jobs match, in all",
                    "schema": {"type": "integer"},
                }
            }
        }
    },
)
@store_read
def list_jobs(
    ws: WorkspaceName,
    request: Request,
    response: Response,
    platform: PlatformDep,
    endpoint: str | None = Query(default=None, description="only this endpoint's jobs"),
    deployment: str | None = Query(default=None, description="only this deployment's jobs"),
    experiment_name: str | None = Query(
        default=None, description="only this experiment's jobs (default: the endpoint's name)"
    ),
    status: JobStatus | None = Query(default=None, description="only jobs in this status"),
    created_by: str | None = Query(default=None, description="only jobs this user created"),
    offset: int = Query(default=0, ge=0, description="skip this many (newest first)"),
    limit: int = Query(
        default=DEFAULT_PAGE, ge=1, le=1000, description="at most this many (the newest)"
    ),
    _: Access = require("jobs/read"),
) -> list[schemas.Job]:
    """Jobs, newest first (without their failures: show a job for those); the header
    ``X-Total-Count`` says how many match in all. An unknown filter is a 422, not ignored: a
    misspelt one would otherwise list every job."""
    unknown = sorted(set(request.query_params) - _LIST_FILTERS)
    if unknown:
        raise Invalid(
            f"unknown query parameter {unknown[0]!r}; jobs are filtered by "
            f"{', '.join(sorted(_LIST_FILTERS))}",
            field=unknown[0],
        )
    where = jobs.JobFilter(
        endpoint=endpoint,
        deployment=deployment,
        experiment_name=experiment_name,
        status=status,
        created_by=created_by,
    )
    with platform.transaction() as session:
        page = jobs.list_jobs(session, ws, where, offset=offset, limit=limit)
    response.headers["X-Total-Count"] = str(page.total)
    return [job_out(platform, ws, job) for job in page.jobs]


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
    path: str | None = OUTPUT_FILE,
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
    return stream_output(platform, view)


def stream_output(platform: Platform, view: job_outputs.OutputView) -> StreamingResponse:
    """A file output as a download, read in chunks on the storage pool (the console's output
    download answers with this too)."""
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


@router.get("/{name}/outputs/{output}/preview", response_model=schemas.OutputPreview)
async def preview_output(
    ws: WorkspaceName,
    name: str,
    output: str,
    platform: PlatformDep,
    path: str | None = OUTPUT_FILE,
    _: Access = require("jobs/read"),
) -> schemas.OutputPreview:
    """The first 50 rows of a Completed job's CSV, JSON lines or Parquet output (a folder
    output: ``path``, or its first such file), read in a bounded number of bytes."""

    def preview() -> job_outputs.OutputPreview:
        with platform.transaction() as session:
            return job_outputs.preview_output(
                session, platform, workspaces.read_workspace(session, ws), name, output, path
            )

    found = await platform.storage.run(preview)
    return schemas.OutputPreview.model_validate(asdict(found))

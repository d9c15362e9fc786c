"""Jobs: the list with filters, a job's page (root cause first when it failed, live progress
and log over Server-Sent Events, failed mini-batches, outputs with download and preview),
and cancel."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from wharf.api.logstream import stream_log
from wharf.api.routers.jobs import stream_output
from wharf.console.context import ConsoleContext, action, page
from wharf.console.errors import ConsoleRoute
from wharf.console.pagination import PAGE_SIZE, Page, PageNumber
from wharf.console.render import render
from wharf.console.sse import event_stream, log_lines
from wharf.errors import ServiceError
from wharf.services import job_failures, job_outputs, jobs, workspaces
from wharf.services.platform import Platform
from wharf.states import JobStatus
from wharf.store.models import Workspace

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

PROGRESS_POLL_SECONDS = 1.0
"""How often a job page's progress stream looks at the job."""
FILTERS = ("endpoint", "deployment", "experiment_name", "status", "created_by")


JobRows = Page[tuple[jobs.ListedJob, jobs.ProgressView]]


def page_of_jobs(
    session: Session, workspace: Workspace, where: jobs.JobFilter, number: int
) -> JobRows:
    """Page ``number`` of the jobs that match, each with its progress (the rows of
    ``jobs/_table.html``), counted and sliced by the database."""
    found = jobs.list_jobs(
        session, workspace.name, where, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    return Page([(job, jobs.read_progress(job)) for job in found.jobs], number, found.total)


@router.get("/w/{ws}/jobs")
def list_jobs(
    ws: str,
    request: Request,
    number: PageNumber = 1,
    endpoint: str = Query("", max_length=255),
    deployment: str = Query("", max_length=255),
    experiment_name: str = Query("", max_length=255),
    status: JobStatus | None = Query(None),
    created_by: str = Query("", max_length=255),
    ctx: ConsoleContext = page("jobs/read"),
) -> Response:
    where = jobs.JobFilter(
        endpoint=endpoint or None,
        deployment=deployment or None,
        experiment_name=experiment_name or None,
        status=status,
        created_by=created_by or None,
    )
    with ctx.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        listed = page_of_jobs(session, workspace, where, number)
        choices = jobs.list_job_filter_choices(session, workspace)
        query = {k: v for k, v in request.query_params.items() if k in FILTERS and v}
        return render(
            ctx,
            "jobs/list.html",
            api=ctx.api_url("jobs") + (f"?{urlencode(query)}" if query else ""),
            jobs=listed,
            where=where,
            choices=choices,
            statuses=[s.value for s in JobStatus],
        )


@router.get("/w/{ws}/jobs/{name}")
def show_job(ws: str, name: str, ctx: ConsoleContext = page("jobs/read")) -> Response:
    with ctx.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        job = jobs.read_job(session, workspace, name)
        failed = job_failures.list_failed_batches(session, job)
        cause = job_failures.read_root_cause(session, ctx.platform.settings, workspace, job)
        status = JobStatus(job.status)
        log = jobs.read_log_tail(ctx.platform.settings, ws, name) if status.ended else ""
        return render(
            ctx,
            "jobs/job.html",
            api=ctx.api_url("jobs", name),
            job=job,
            state=status,
            progress=jobs.read_progress(job),
            failed=failed,
            cause=cause,
            log=log,
            previews=_previews(ctx, ws, job.name, job.outputs, status),
        )


def _previews(
    ctx: ConsoleContext, ws: str, name: str, outputs: dict[str, object], status: JobStatus
) -> dict[str, job_outputs.OutputPreview | str]:
    """Each output's first rows (or why there are none) once the job has Completed."""
    if status != JobStatus.COMPLETED:
        return {}
    found: dict[str, job_outputs.OutputPreview | str] = {}
    for output in outputs:
        try:
            found[output] = ctx.platform.storage.call(_preview, ctx.platform, ws, name, output)
        except ServiceError as error:
            found[output] = error.detail
    return found


def _preview(platform: Platform, ws: str, name: str, output: str) -> job_outputs.OutputPreview:
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        return job_outputs.preview_output(session, platform, workspace, name, output)


@router.get("/w/{ws}/jobs/{name}/outputs/{output}")
async def download_output(
    ws: str,
    name: str,
    output: str,
    path: str | None = Query(None, max_length=4096),
    ctx: ConsoleContext = page("jobs/read"),
) -> Response:
    """The same download as the API's, for a signed-in browser."""

    def open_output() -> job_outputs.OutputView:
        with ctx.platform.transaction() as session:
            workspace = workspaces.read_workspace(session, ws)
            return job_outputs.open_output(session, ctx.platform, workspace, name, output, path)

    view = await ctx.platform.storage.run(open_output)
    if view.files is not None:
        return render(ctx, "jobs/output_files.html", job=name, output=output, files=view.files)
    return stream_output(ctx.platform, view)


@router.post("/w/{ws}/jobs/{name}/cancel")
def cancel_job(ws: str, name: str, ctx: ConsoleContext = action("jobs/write")) -> Response:
    with ctx.platform.transaction() as session:
        jobs.cancel_job(session, workspaces.read_workspace(session, ws), name)
    ctx.platform.job_runner.wake()
    return RedirectResponse(ctx.ws_url("jobs", name), status_code=303)


@router.get("/w/{ws}/jobs/{name}/progress")
def progress_events(
    ws: str, name: str, request: Request, ctx: ConsoleContext = page("jobs/read")
) -> Response:
    """``progress`` events (JSON) whenever the numbers change; ``end`` once the job ended."""
    job_id = _job_id(ctx, ws, name)
    return event_stream(request, _progress(ctx.platform, job_id))


def _job_id(ctx: ConsoleContext, ws: str, name: str) -> int:
    with ctx.platform.transaction() as session:
        return jobs.read_job(session, workspaces.read_workspace(session, ws), name).id


async def _progress(platform: Platform, job_id: int) -> AsyncIterator[tuple[str, str]]:
    last = None
    while True:
        view = await run_in_threadpool(_read_progress, platform, job_id)
        data = json.dumps(
            {
                **asdict(view.counts),
                "status": view.status.value,
                "percent_done": view.percent_done,
                "percent_failed": view.percent_failed,
                "text": view.describe(),
            }
        )
        if data != last:
            yield "progress", data
            last = data
        if view.ended:
            yield "end", view.status.value
            return
        await asyncio.sleep(PROGRESS_POLL_SECONDS)


def _read_progress(platform: Platform, job_id: int) -> jobs.ProgressView:
    with platform.transaction() as session:
        return jobs.read_progress(jobs.read_job_by_id(session, job_id))


@router.get("/w/{ws}/jobs/{name}/log")
def log_events(
    ws: str, name: str, request: Request, ctx: ConsoleContext = page("jobs/read")
) -> Response:
    """The job's log as ``line`` events, live until the job ends; then ``end``."""
    job_id = _job_id(ctx, ws, name)
    path = jobs.job_log_path(ctx.platform.settings, ws, name)
    platform = ctx.platform

    def finished() -> bool:
        with platform.transaction() as session:
            return jobs.job_has_ended(session, job_id)

    async def lines() -> AsyncIterator[tuple[str, str]]:
        async for event in log_lines(stream_log(path, follow=True, finished=finished)):
            yield event
        yield "end", "The job has ended; its whole log is above."

    return event_stream(request, lines())

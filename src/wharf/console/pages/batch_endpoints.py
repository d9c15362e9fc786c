"""Batch endpoints: the list, an endpoint with its deployments and jobs, setting the default
deployment, and the Create job form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from wharf.console.context import ConsoleContext, action, page
from wharf.console.errors import ConsoleRoute
from wharf.console.pages.jobs import page_of_jobs
from wharf.console.pagination import PageNumber, paginate
from wharf.console.render import render
from wharf.errors import ServiceError
from wharf.services import (
    assets,
    batch_deployments,
    batch_endpoints,
    datastores,
    invoke_form,
    job_invoke,
    jobs,
    workspaces,
)

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/w/{ws}/batch-endpoints")
def list_endpoints(
    ws: str, number: PageNumber = 1, ctx: ConsoleContext = page("batch-endpoints/read")
) -> Response:
    with ctx.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        found = [
            (endpoint, batch_endpoints.deployment_names(session, endpoint))
            for endpoint in batch_endpoints.list_endpoints(session, workspace)
        ]
        listed = paginate(found, number)
    return render(ctx, "batch/endpoints.html", api=ctx.api_url("batch-endpoints"), endpoints=listed)


@router.get("/w/{ws}/batch-endpoints/{name}")
def show_endpoint(
    ws: str, name: str, number: PageNumber = 1, ctx: ConsoleContext = page("batch-endpoints/read")
) -> Response:
    with ctx.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        endpoint = batch_endpoints.read_endpoint(session, workspace, name)
        deployments = batch_deployments.list_deployments(session, endpoint)
        shapes = {d.name: invoke_form.describe_invoke(d) for d in deployments}
        listed = page_of_jobs(session, workspace, jobs.JobFilter(endpoint=name), number)
        invoke_url = batch_endpoints.invoke_url(ctx.platform.settings, ws, name)
        return render(
            ctx,
            "batch/endpoint.html",
            api=ctx.api_url("batch-endpoints", name),
            endpoint=endpoint,
            deployments=deployments,
            shapes=shapes,
            jobs=listed,
            invoke_url=invoke_url,
        )


@router.post("/w/{ws}/batch-endpoints/{name}/default")
async def set_default(
    ws: str, name: str, request: Request, ctx: ConsoleContext = action("batch-endpoints/write")
) -> Response:
    form = await request.form()
    chosen = str(form.get("deployment", ""))

    def change() -> None:
        with ctx.platform.transaction() as session:
            workspace = workspaces.read_workspace(session, ws)
            endpoint = batch_endpoints.read_endpoint(session, workspace, name)
            batch_endpoints.update_endpoint(session, endpoint, default_deployment=chosen)

    await run_in_threadpool(change)
    return RedirectResponse(ctx.ws_url("batch-endpoints", name), status_code=303)


@router.get("/w/{ws}/batch-endpoints/{name}/jobs/new")
def new_job(
    ws: str,
    name: str,
    deployment: str = "",
    ctx: ConsoleContext = page("batch-endpoints/jobs/write"),
) -> Response:
    return _job_form(ctx, ws, name, deployment or None, {}, {})


@router.post("/w/{ws}/batch-endpoints/{name}/jobs")
async def create_job(
    ws: str,
    name: str,
    request: Request,
    ctx: ConsoleContext = action("batch-endpoints/jobs/write"),
) -> Response:
    form = {key: str(value) for key, value in (await request.form()).items()}
    chosen = form.get("deployment") or None

    def invoke() -> str:
        with ctx.platform.transaction() as session:
            workspace = workspaces.read_workspace(session, ws)
            endpoint = batch_endpoints.read_endpoint(session, workspace, name)
            deployment = batch_deployments.read_deployment(
                session, endpoint, chosen or endpoint.default_deployment or ""
            )
            spec = invoke_form.read_invoke_form(form, invoke_form.describe_invoke(deployment))
            job, _ = job_invoke.invoke_endpoint(
                session, ctx.platform, ctx.principal, workspace, name, spec
            )
            return job.name

    try:
        job_name = await run_in_threadpool(invoke)
    except ServiceError as error:
        errors = {_form_field(error): error.detail}
        return await run_in_threadpool(_job_form, ctx, ws, name, chosen, form, errors, error.status)
    ctx.platform.job_runner.wake()
    return RedirectResponse(ctx.ws_url("jobs", job_name), status_code=303)


def _form_field(error: ServiceError) -> str:
    """Where the form shows an error: next to the input, output or setting it names."""
    field = str(error.extra.get("field", ""))
    if field.startswith("params_override."):
        return field.removeprefix("params_override.")
    if field.startswith(("inputs.", "outputs.")):
        return ".".join(field.split(".")[:2])
    return field if field in ("experiment_name", "deployment") else "form"


def _job_form(
    ctx: ConsoleContext,
    ws: str,
    name: str,
    chosen: str | None,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    status: int = 200,
) -> Response:
    with ctx.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        endpoint = batch_endpoints.read_endpoint(session, workspace, name)
        deployments = batch_deployments.list_deployments(session, endpoint)
        selected = chosen or endpoint.default_deployment
        shape = None
        if selected is not None:
            shape = invoke_form.describe_invoke(
                batch_deployments.read_deployment(session, endpoint, selected)
            )
        choices: dict[str, Any] = {
            "assets": [
                c.name
                for c, latest in assets.list_assets_with_latest(session, workspace, "data")
                if latest is not None
            ],
            "datastores": [d.name for d in datastores.list_datastores(session, workspace)],
        }
        return render(
            ctx,
            "batch/create_job.html",
            status=status,
            api=ctx.api_url("batch-endpoints", name, "deployments"),
            endpoint=endpoint,
            deployments=[d.name for d in deployments],
            shape=shape,
            values=values,
            errors=errors,
            sources=invoke_form.INPUT_SOURCES,
            **choices,
        )

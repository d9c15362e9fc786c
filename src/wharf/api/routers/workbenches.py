"""Notebook workbenches: create, list, show, start, stop, sign in, delete — the caller's own."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request, Response, status

from wharf.api.deps import Access, PlatformDep, WorkspaceName, require
from wharf.schemas import workbenches as schemas
from wharf.services import workbenches
from wharf.services.platform import Platform
from wharf.services.workbench_runtime import WorkbenchRuntime
from wharf.store import models

router = APIRouter(prefix="/workspaces/{ws}/workbenches", tags=["workbenches"])


def _runtime(request: Request) -> WorkbenchRuntime:
    runtime: WorkbenchRuntime = request.app.state.workbenches
    return runtime


def workbench_out(runtime: WorkbenchRuntime, found: models.Workbench) -> schemas.Workbench:
    return schemas.Workbench(
        name=found.name,
        workspace=found.workspace.name,
        owner=found.user.name,
        phase=found.phase,
        message=found.message,
        url=runtime.url(found),
        cpu=found.cpu,
        memory=found.memory,
        idle_timeout=workbenches.describe_idle_timeout(found.idle_timeout_seconds),
        source_secret=found.source_secret,
        requirements=found.requirements,
        last_activity=found.last_activity,
        started_at=found.started_at,
        stopped_at=found.stopped_at,
        created_at=found.created_at,
    )


def _read(platform: Platform, access: Access, ws: str, name: str) -> int:
    with platform.transaction() as session:
        return workbenches.read_own_workbench(session, ws, access.principal.user_id, name).id


def _show(platform: Platform, runtime: WorkbenchRuntime, workbench_id: int) -> schemas.Workbench:
    with platform.transaction() as session:
        found = session.get(models.Workbench, workbench_id)
        assert found is not None
        return workbench_out(runtime, found)


def _act_and_show(
    request: Request,
    platform: Platform,
    access: Access,
    ws: str,
    name: str,
    act: Callable[[WorkbenchRuntime, int], None],
) -> schemas.Workbench:
    """``act`` on the caller's own workbench ``name`` with the runtime; then show it."""
    workbench_id = _read(platform, access, ws, name)
    runtime = _runtime(request)
    act(runtime, workbench_id)
    return _show(platform, runtime, workbench_id)


@router.get("", response_model=list[schemas.Workbench])
def list_workbenches(
    request: Request,
    ws: WorkspaceName,
    platform: PlatformDep,
    access: Access = require("workbenches/read"),
) -> list[schemas.Workbench]:
    """The caller's own workbenches in the workspace."""
    runtime = _runtime(request)
    with platform.transaction() as session:
        found = workbenches.list_own_workbenches(session, ws, access.principal.user_id)
        return [workbench_out(runtime, workbench) for workbench in found]


@router.post("", response_model=schemas.Workbench, status_code=status.HTTP_201_CREATED)
def create_workbench(
    request: Request,
    ws: WorkspaceName,
    body: schemas.WorkbenchCreate,
    platform: PlatformDep,
    access: Access = require("workbenches/write"),
) -> schemas.Workbench:
    """A stopped workbench of the caller's, with its own token; start it to run JupyterLab."""
    spec = workbenches.WorkbenchSpec(**body.model_dump())
    with platform.transaction() as session:
        created = workbenches.create_own_workbench(
            session, platform.secrets, ws, access.principal.user_id, spec
        )
        return workbench_out(_runtime(request), created)


@router.get("/{name}", response_model=schemas.Workbench)
def read_workbench(
    request: Request,
    ws: WorkspaceName,
    name: str,
    platform: PlatformDep,
    access: Access = require("workbenches/read"),
) -> schemas.Workbench:
    return _show(platform, _runtime(request), _read(platform, access, ws, name))


@router.post("/{name}/start", response_model=schemas.Workbench, status_code=202)
def start_workbench(
    request: Request,
    ws: WorkspaceName,
    name: str,
    platform: PlatformDep,
    access: Access = require("workbenches/write"),
) -> schemas.Workbench:
    """Start JupyterLab (answers at once with ``Starting``; ``Running`` once it answers)."""
    return _act_and_show(request, platform, access, ws, name, WorkbenchRuntime.request_start)


@router.post("/{name}/stop", response_model=schemas.Workbench)
def stop_workbench(
    request: Request,
    ws: WorkspaceName,
    name: str,
    platform: PlatformDep,
    access: Access = require("workbenches/write"),
) -> schemas.Workbench:
    """Stop JupyterLab; the home folder stays for the next start."""
    return _act_and_show(request, platform, access, ws, name, WorkbenchRuntime.stop)


@router.post("/{name}/sign-in", response_model=schemas.SignInLink)
def sign_in_to_workbench(
    request: Request,
    ws: WorkspaceName,
    name: str,
    platform: PlatformDep,
    access: Access = require("workbenches/write"),
) -> schemas.SignInLink:
    """A one-time link (valid two minutes) that signs the owner in on the workbench's origin."""
    workbench_id = _read(platform, access, ws, name)
    with platform.transaction() as session:
        found = session.get(models.Workbench, workbench_id)
        assert found is not None
        return schemas.SignInLink(url=_runtime(request).sign_in_url(found))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_workbench(
    request: Request,
    ws: WorkspaceName,
    name: str,
    platform: PlatformDep,
    access: Access = require("workbenches/write"),
) -> Response:
    """Stop it, revoke its token, remove its home folder."""
    workbench_id = _read(platform, access, ws, name)
    runtime = _runtime(request)
    runtime.stop(workbench_id, "deleted")
    with platform.transaction() as session:
        found = session.get(models.Workbench, workbench_id)
        if found is not None:
            workbenches.delete_workbench(session, platform.settings, found)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

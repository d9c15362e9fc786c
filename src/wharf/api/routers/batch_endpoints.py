"""Batch endpoints, their deployments, and invoking them (creating jobs)."""

from __future__ import annotations

from fastapi import Header, Query, Request, Response, status

from wharf.api.deps import Access, PlatformDep, WorkspaceName, require
from wharf.api.routers.jobs import job_out
from wharf.api.routing import APIRouter, store_read
from wharf.schemas import batch as schemas
from wharf.services import batch_deployments, batch_endpoints, job_invoke, job_requests, workspaces
from wharf.services.platform import Platform
from wharf.store import models

router = APIRouter(prefix="/workspaces/{ws}/batch-endpoints", tags=["batch-endpoints"])

SET_DEFAULT = Query(default=False, description="make it the endpoint's default deployment")


def endpoint_out(
    platform: Platform, ws: str, endpoint: models.BatchEndpoint, deployments: list[str]
) -> schemas.BatchEndpoint:
    return schemas.BatchEndpoint(
        name=endpoint.name,
        description=endpoint.description,
        tags=endpoint.tags,
        default_deployment=endpoint.default_deployment,
        deployments=deployments,
        invoke_url=batch_endpoints.invoke_url(platform.settings, ws, endpoint.name),
        created_by=endpoint.created_by,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def deployment_out(
    endpoint: models.BatchEndpoint, deployment: models.BatchDeployment
) -> schemas.BatchDeployment:
    return schemas.BatchDeployment(
        name=deployment.name,
        endpoint_name=endpoint.name,
        type=deployment.type,
        kind=deployment.kind,
        description=deployment.description,
        tags=deployment.tags,
        code=deployment.code_reference,
        scoring_script=deployment.scoring_script,
        entry=deployment.entry,
        inputs=deployment.component.get("inputs", {}),
        outputs=deployment.component.get("outputs", {}),
        steps=deployment.component.get("order", []),
        model=deployment.model_reference,
        environment=schemas.DeploymentEnvironment(
            requirements=deployment.requirements,
            source=deployment.environment_source,
            key=deployment.environment_key,
            reused=deployment.environment_reused,
            python=deployment.environment_notes.get("python"),
            ignored=deployment.environment_notes.get("ignored", []),
            notes=[
                deployment.environment_notes[key]
                for key in ("python_note", "ignored_note")
                if deployment.environment_notes.get(key)
            ],
        ),
        settings=deployment.settings,
        resources={"instance_count": deployment.settings.get("instance_count", 1)},
        is_default=endpoint.default_deployment == deployment.name,
        provisioning_state="Succeeded",
        revision=deployment.revision,
        created_by=deployment.created_by,
        created_at=deployment.created_at,
        updated_at=deployment.updated_at,
    )


def deployment_spec(body: schemas.BatchDeploymentCreate) -> batch_deployments.DeploymentSpec:
    """The flat spec of a body; an inline ``component`` fills what the top level leaves out."""
    inline = body.component or schemas.ComponentBody()
    code = body.code_configuration
    environment = body.environment or inline.environment
    return batch_deployments.DeploymentSpec(
        name=body.name,
        type=body.type,
        endpoint_name=body.endpoint_name,
        description=body.description,
        tags=body.tags,
        code=code.code if code else inline.code,
        scoring_script=code.scoring_script if code else None,
        model=body.model,
        requirements=environment.requirements if environment else None,
        conda_file=environment.conda_file if environment else None,
        settings=body.settings,
        instance_count=body.resources.instance_count if body.resources else None,
        entry=body.entry or inline.entry,
        inputs={k: v.model_dump() for k, v in (body.inputs or inline.inputs).items()},
        outputs={k: v.model_dump() for k, v in (body.outputs or inline.outputs).items()},
        jobs=inline.jobs,
    )


@router.get("", response_model=list[schemas.BatchEndpoint])
@store_read
def list_endpoints(
    ws: WorkspaceName, platform: PlatformDep, _: Access = require("batch-endpoints/read")
) -> list[schemas.BatchEndpoint]:
    """Batch endpoints with their deployments and invoke URLs."""
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        return [
            endpoint_out(platform, ws, e, batch_endpoints.deployment_names(session, e))
            for e in batch_endpoints.list_endpoints(session, workspace)
        ]


@router.post("", response_model=schemas.BatchEndpoint, status_code=status.HTTP_201_CREATED)
def create_endpoint(
    ws: WorkspaceName,
    body: schemas.BatchEndpointCreate,
    platform: PlatformDep,
    access: Access = require("batch-endpoints/write"),
) -> schemas.BatchEndpoint:
    """Create an endpoint; its first deployment becomes its default."""
    with platform.transaction() as session:
        endpoint = batch_endpoints.create_endpoint(
            session,
            workspaces.read_workspace(session, ws),
            body.name,
            description=body.description,
            tags=body.tags,
            created_by=access.principal.user_name,
        )
        return endpoint_out(platform, ws, endpoint, [])


@router.get("/{endpoint}", response_model=schemas.BatchEndpoint)
@store_read
def read_endpoint(
    ws: WorkspaceName,
    endpoint: str,
    platform: PlatformDep,
    _: Access = require("batch-endpoints/read"),
) -> schemas.BatchEndpoint:
    """One endpoint, with its invoke URL."""
    with platform.transaction() as session:
        found = batch_endpoints.read_endpoint(
            session, workspaces.read_workspace(session, ws), endpoint
        )
        return endpoint_out(platform, ws, found, batch_endpoints.deployment_names(session, found))


@router.patch("/{endpoint}", response_model=schemas.BatchEndpoint)
def update_endpoint(
    ws: WorkspaceName,
    endpoint: str,
    body: schemas.BatchEndpointUpdate,
    platform: PlatformDep,
    _: Access = require("batch-endpoints/write"),
) -> schemas.BatchEndpoint:
    """Change the description, tags or the default deployment."""
    with platform.transaction() as session:
        found = batch_endpoints.read_endpoint(
            session, workspaces.read_workspace(session, ws), endpoint
        )
        batch_endpoints.update_endpoint(
            session,
            found,
            description=body.description,
            tags=body.tags,
            default_deployment=body.default_deployment,
        )
        return endpoint_out(platform, ws, found, batch_endpoints.deployment_names(session, found))


@router.delete("/{endpoint}", status_code=status.HTTP_204_NO_CONTENT)
def delete_endpoint(
    ws: WorkspaceName,
    endpoint: str,
    platform: PlatformDep,
    _: Access = require("batch-endpoints/write"),
) -> Response:
    """Delete an endpoint and its deployments (409 while any of its jobs has not ended). Its
    jobs stay, with their logs and outputs."""
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        found = batch_endpoints.read_endpoint(session, workspace, endpoint)
        folders = batch_endpoints.delete_endpoint(session, workspace, found)
    batch_endpoints.remove_folders(folders)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{endpoint}/deployments", response_model=list[schemas.BatchDeployment])
@store_read
def list_deployments(
    ws: WorkspaceName,
    endpoint: str,
    platform: PlatformDep,
    _: Access = require("batch-endpoints/read"),
) -> list[schemas.BatchDeployment]:
    """The endpoint's deployments."""
    with platform.transaction() as session:
        found = batch_endpoints.read_endpoint(
            session, workspaces.read_workspace(session, ws), endpoint
        )
        return [
            deployment_out(found, d) for d in batch_deployments.list_deployments(session, found)
        ]


@router.post(
    "/{endpoint}/deployments",
    response_model=schemas.BatchDeployment,
    status_code=status.HTTP_201_CREATED,
)
def create_deployment(
    ws: WorkspaceName,
    endpoint: str,
    body: schemas.BatchDeploymentCreate,
    platform: PlatformDep,
    set_default: bool = SET_DEFAULT,
    access: Access = require("batch-endpoints/write"),
) -> schemas.BatchDeployment:
    """Create a deployment: its code is copied and checked, and its environment is built (or
    taken from the cache) before this returns; a failed install is a 422 with the installer's
    message."""
    return _save(platform, access, ws, endpoint, body, replace=False, set_default=set_default)[0]


@router.put("/{endpoint}/deployments/{deployment}", response_model=schemas.BatchDeployment)
def replace_deployment(
    ws: WorkspaceName,
    endpoint: str,
    deployment: str,
    body: schemas.BatchDeploymentCreate,
    response: Response,
    platform: PlatformDep,
    set_default: bool = SET_DEFAULT,
    access: Access = require("batch-endpoints/write"),
) -> schemas.BatchDeployment:
    """Create or replace a deployment (a new revision; queued jobs keep the one they got)."""
    result, created = _save(
        platform, access, ws, endpoint, body, replace=True, set_default=set_default, path=deployment
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return result


def _save(
    platform: Platform,
    access: Access,
    ws: str,
    endpoint: str,
    body: schemas.BatchDeploymentCreate,
    *,
    replace: bool,
    set_default: bool,
    path: str | None = None,
) -> tuple[schemas.BatchDeployment, bool]:
    spec = deployment_spec(body)
    if path is not None:
        batch_deployments.check_path_name(path, spec.name)
    saved, created = batch_deployments.save_deployment(
        platform, access.principal, ws, endpoint, spec, replace=replace, set_default=set_default
    )
    with platform.transaction() as session:
        found = batch_endpoints.read_endpoint(
            session, workspaces.read_workspace(session, ws), endpoint
        )
        return deployment_out(found, saved), created


@router.get("/{endpoint}/deployments/{deployment}", response_model=schemas.BatchDeployment)
@store_read
def read_deployment(
    ws: WorkspaceName,
    endpoint: str,
    deployment: str,
    platform: PlatformDep,
    _: Access = require("batch-endpoints/read"),
) -> schemas.BatchDeployment:
    """One deployment, with every setting and its environment."""
    with platform.transaction() as session:
        found = batch_endpoints.read_endpoint(
            session, workspaces.read_workspace(session, ws), endpoint
        )
        return deployment_out(found, batch_deployments.read_deployment(session, found, deployment))


@router.delete("/{endpoint}/deployments/{deployment}", status_code=status.HTTP_204_NO_CONTENT)
def delete_deployment(
    ws: WorkspaceName,
    endpoint: str,
    deployment: str,
    platform: PlatformDep,
    _: Access = require("batch-endpoints/write"),
) -> Response:
    """Delete a deployment (409 for the default while others exist, or while jobs run)."""
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        found = batch_endpoints.read_endpoint(session, workspace, endpoint)
        folder = batch_deployments.delete_deployment(session, workspace, found, deployment)
    batch_endpoints.remove_folders([str(folder)])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{endpoint}/jobs",
    response_model=schemas.Job,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "a retry with the same idempotency key: the same job"}},
)
def invoke_endpoint(
    ws: WorkspaceName,
    endpoint: str,
    request: Request,
    response: Response,
    platform: PlatformDep,
    body: schemas.JobInvoke | None = None,
    wharf_deployment: str | None = Header(default=None, description="the deployment to use"),
    azureml_model_deployment: str | None = Header(default=None, description="Azure's spelling"),
    repeatability_request_id: str | None = Header(default=None, description="idempotency key"),
    idempotency_key: str | None = Header(default=None, description="idempotency key"),
    access: Access = require("batch-endpoints/jobs/write"),
) -> schemas.Job:
    """Invoke the endpoint: create a job (Queued) under the caller's identity. The native body
    and Azure's ``properties.InputData``/``OutputData`` body create the same job."""
    spec = job_requests.read_invoke(body, wharf_deployment, azureml_model_deployment)
    with platform.transaction() as session:
        job, created = job_invoke.invoke_endpoint(
            session,
            platform,
            access.principal,
            workspaces.read_workspace(session, ws),
            endpoint,
            spec,
            idempotency_key=repeatability_request_id or idempotency_key,
        )
        result = job_out(platform, ws, job)
    if created:
        platform.job_runner.wake()
    else:
        response.status_code = status.HTTP_200_OK
    return result

"""Batch endpoints: stable names that jobs are created against, each with a default deployment."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from wharf.config import Settings
from wharf.errors import Conflict, Invalid, NotFound
from wharf.states import JobStatus
from wharf.store.models import BatchDeployment, BatchEndpoint, Job, Workspace
from wharf.store.types import utcnow

_ENDPOINT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{2,31}$")
_DEPLOYMENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,31}$")
ACTIVE_JOB_STATUSES = tuple(status for status in JobStatus if not status.ended)


def check_endpoint_name(name: str) -> str:
    """3-32 letters, digits and dashes, a letter first (Azure ML's rule)."""
    if not _ENDPOINT_NAME.fullmatch(name):
        raise Invalid(
            f"batch endpoint name {name!r} is not valid: use 3-32 letters, digits and dashes, "
            "starting with a letter",
            field="name",
        )
    return name


def check_deployment_name(name: str) -> str:
    """1-32 letters, digits and dashes, a letter first."""
    if not _DEPLOYMENT_NAME.fullmatch(name):
        raise Invalid(
            f"batch deployment name {name!r} is not valid: use 1-32 letters, digits and dashes, "
            "starting with a letter",
            field="name",
        )
    return name


def create_endpoint(
    session: Session,
    workspace: Workspace,
    name: str,
    *,
    description: str = "",
    tags: dict[str, str] | None = None,
    created_by: str | None,
) -> BatchEndpoint:
    check_endpoint_name(name)
    if _find(session, workspace, name) is not None:
        raise Conflict(f"batch endpoint {name!r} already exists in workspace {workspace.name!r}")
    endpoint = BatchEndpoint(
        workspace_id=workspace.id,
        name=name,
        description=description,
        tags=dict(tags or {}),
        created_by=created_by,
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def _find(session: Session, workspace: Workspace, name: str) -> BatchEndpoint | None:
    return session.scalar(
        select(BatchEndpoint).where(
            BatchEndpoint.workspace_id == workspace.id, BatchEndpoint.name == name
        )
    )


def read_endpoint(session: Session, workspace: Workspace, name: str) -> BatchEndpoint:
    endpoint = _find(session, workspace, name)
    if endpoint is None:
        raise NotFound(f"batch endpoint {name!r} does not exist in workspace {workspace.name!r}")
    return endpoint


def list_endpoints(session: Session, workspace: Workspace) -> list[BatchEndpoint]:
    return list(
        session.scalars(
            select(BatchEndpoint)
            .where(BatchEndpoint.workspace_id == workspace.id)
            .order_by(BatchEndpoint.name)
        )
    )


def deployment_names(session: Session, endpoint: BatchEndpoint) -> list[str]:
    return list(
        session.scalars(
            select(BatchDeployment.name)
            .where(BatchDeployment.endpoint_id == endpoint.id)
            .order_by(BatchDeployment.name)
        )
    )


def update_endpoint(
    session: Session,
    endpoint: BatchEndpoint,
    *,
    description: str | None = None,
    tags: dict[str, str] | None = None,
    default_deployment: str | None = None,
) -> BatchEndpoint:
    """Change the description, tags or default deployment (which must be one of its own)."""
    if default_deployment is not None:
        if default_deployment not in deployment_names(session, endpoint):
            raise NotFound(
                f"batch endpoint {endpoint.name!r} has no deployment {default_deployment!r}",
                field="default_deployment",
            )
        endpoint.default_deployment = default_deployment
    if description is not None:
        endpoint.description = description
    if tags is not None:
        endpoint.tags = dict(tags)
    endpoint.updated_at = utcnow()
    session.flush()
    return endpoint


def active_job_names(
    session: Session, workspace: Workspace, endpoint: str, deployment: str | None = None
) -> list[str]:
    """Jobs of the endpoint (or one deployment) that have not ended."""
    query = select(Job.name).where(
        Job.workspace_id == workspace.id,
        Job.endpoint == endpoint,
        Job.status.in_(ACTIVE_JOB_STATUSES),
    )
    if deployment is not None:
        query = query.where(Job.deployment == deployment)
    return list(session.scalars(query.order_by(Job.id).limit(5)))


def delete_endpoint(session: Session, workspace: Workspace, endpoint: BatchEndpoint) -> list[str]:
    """Delete an endpoint and its deployments once none of its jobs is running. Jobs stay (their
    history). Returns the deployments' folders, to remove after the commit."""
    running = active_job_names(session, workspace, endpoint.name)
    if running:
        raise Conflict(
            f"batch endpoint {endpoint.name!r} has jobs that have not ended "
            f"({', '.join(running)}); cancel them or wait, then delete it"
        )
    folders = list(
        session.scalars(
            select(BatchDeployment.folder).where(BatchDeployment.endpoint_id == endpoint.id)
        )
    )
    session.delete(endpoint)
    session.flush()
    return folders


def remove_folders(folders: list[str]) -> None:
    """Remove deployment folders that no longer belong to any deployment."""
    for folder in folders:
        shutil.rmtree(Path(folder), ignore_errors=True)


def invoke_url(settings: Settings, workspace: str, endpoint: str) -> str:
    """Where jobs of the endpoint are created (POST)."""
    base = settings.effective_public_url
    return f"{base}/api/v1/workspaces/{workspace}/batch-endpoints/{endpoint}/jobs"

"""Git source secrets: create, list, show, delete. Their values never come back out."""

from __future__ import annotations

from fastapi import Response, status
from sqlalchemy.orm import Session

from wharf.api.deps import Access, PlatformDep, WorkspaceName, require
from wharf.api.routing import APIRouter
from wharf.schemas import webhooks as schemas
from wharf.services import source_secrets, workspaces
from wharf.services.platform import Platform
from wharf.store import models

router = APIRouter(prefix="/workspaces/{ws}/source-secrets", tags=["source secrets"])


def secret_out(
    session: Session, platform: Platform, secret: models.SourceSecret
) -> schemas.SourceSecret:
    return schemas.SourceSecret(
        name=secret.name,
        type=secret.kind,
        fields=source_secrets.secret_fields(platform.secrets, secret),
        used_by=source_secrets.apps_using(session, secret),
        created_by=secret.created_by,
        created_at=secret.created_at,
    )


@router.get("", response_model=list[schemas.SourceSecret])
def list_source_secrets(
    ws: WorkspaceName, platform: PlatformDep, _: Access = require("source-secrets/read")
) -> list[schemas.SourceSecret]:
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        return [
            secret_out(session, platform, secret)
            for secret in source_secrets.list_source_secrets(session, workspace)
        ]


@router.post("", response_model=schemas.SourceSecret, status_code=status.HTTP_201_CREATED)
def create_source_secret(
    ws: WorkspaceName,
    body: schemas.SourceSecretCreate,
    platform: PlatformDep,
    access: Access = require("source-secrets/write"),
) -> schemas.SourceSecret:
    """Store credentials for a private repository, encrypted; apps name them with
    ``source_secret``. The response says which values it holds, never the values."""
    spec = source_secrets.SourceSecretSpec(**body.model_dump())
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        secret = source_secrets.create_source_secret(
            session, platform.secrets, workspace, spec, created_by=access.principal.user_name
        )
        return secret_out(session, platform, secret)


@router.get("/{name}", response_model=schemas.SourceSecret)
def read_source_secret(
    ws: WorkspaceName, name: str, platform: PlatformDep, _: Access = require("source-secrets/read")
) -> schemas.SourceSecret:
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        secret = source_secrets.read_source_secret(session, workspace, name)
        return secret_out(session, platform, secret)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_source_secret(
    ws: WorkspaceName, name: str, platform: PlatformDep, _: Access = require("source-secrets/write")
) -> Response:
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        source_secrets.delete_source_secret(session, workspace, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

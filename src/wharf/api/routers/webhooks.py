"""An app's webhooks: the URLs with their secret, rotation, the signing secret, deliveries."""

from __future__ import annotations

from fastapi import Query

from wharf.api.deps import Access, PlatformDep, WorkspaceName, require
from wharf.api.routing import APIRouter, store_read
from wharf.schemas import webhooks as schemas
from wharf.services import apps, webhooks, workspaces
from wharf.services.platform import Platform
from wharf.store import models

router = APIRouter(prefix="/workspaces/{ws}/apps/{app}/webhooks", tags=["webhooks"])


def urls_out(platform: Platform, ws: str, app: models.App) -> schemas.WebhookUrls:
    public_url = platform.settings.effective_public_url
    return schemas.WebhookUrls(
        urls=webhooks.webhook_urls(platform.secrets, public_url, ws, app),
        signing_secret_set=app.webhook_signing_secret is not None,
    )


@router.get("", response_model=schemas.WebhookUrls)
def read_webhook_urls(
    ws: WorkspaceName, app: str, platform: PlatformDep, _: Access = require("builds/write")
) -> schemas.WebhookUrls:
    """The webhook URL for each git host, secret included. Whoever holds a URL can start
    builds, so reading them takes ``builds/write``."""
    with platform.transaction() as session:
        found = apps.read_app(session, workspaces.read_workspace(session, ws), app)
        return urls_out(platform, ws, found)


@router.post("/rotate", response_model=schemas.WebhookUrls)
def rotate_webhook_secret(
    ws: WorkspaceName, app: str, platform: PlatformDep, _: Access = require("apps/write")
) -> schemas.WebhookUrls:
    """A new secret for the app's webhook URLs; the old URLs stop working at once."""
    with platform.transaction() as session:
        found = apps.read_app(session, workspaces.read_workspace(session, ws), app)
        webhooks.rotate_webhook_secret(platform.secrets, found)
        return urls_out(platform, ws, found)


@router.put("/signing-secret", response_model=schemas.SigningSecretResult)
def set_signing_secret(
    ws: WorkspaceName,
    app: str,
    body: schemas.SigningSecretUpdate,
    platform: PlatformDep,
    _: Access = require("apps/write"),
) -> schemas.SigningSecretResult:
    """Require signed deliveries (GitHub/Bitbucket HMAC, GitLab token, Gitea HMAC) with this
    secret, a generated one (returned once), or, with neither, stop requiring them."""
    with platform.transaction() as session:
        found = apps.read_app(session, workspaces.read_workspace(session, ws), app)
        generated = webhooks.set_signing_secret(
            platform.secrets, found, body.value, generate=body.generate
        )
        return schemas.SigningSecretResult(
            signing_secret_set=found.webhook_signing_secret is not None, generated=generated
        )


@router.get("/deliveries", response_model=list[schemas.WebhookDelivery])
@store_read
def list_deliveries(
    ws: WorkspaceName,
    app: str,
    platform: PlatformDep,
    limit: int = Query(default=50, ge=1, le=200),
    _: Access = require("apps/read"),
) -> list[schemas.WebhookDelivery]:
    """The app's latest webhook calls, newest first, and what each one did."""
    with platform.transaction() as session:
        found = apps.read_app(session, workspaces.read_workspace(session, ws), app)
        return [
            schemas.WebhookDelivery(
                received_at=d.received_at,
                provider=d.provider,
                event=d.event,
                delivery_id=d.delivery_id,
                result=d.result,
                detail=d.detail,
                commit_sha=d.commit_sha,
                build=d.build_number,
            )
            for d in webhooks.list_deliveries(session, found, limit)
        ]

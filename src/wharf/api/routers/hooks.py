"""The webhook receiver: ``POST /hooks/{ws}/{app}/{secret}/{provider}``, called by git hosts.

No bearer token: the secret in the URL authenticates, as OpenShift's build webhooks do (and a
provider signature too when the app has a signing secret). The secret never reaches a log:
Wharf's access line masks it with :func:`redact_hook_secret`, and :class:`RedactHookSecrets`
does the same in uvicorn's access log when that one is on.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from wharf.api.routing import APIRouter
from wharf.errors import ServiceError
from wharf.schemas import webhooks as schemas
from wharf.services import webhooks
from wharf.services.platform import Platform

router = APIRouter(tags=["webhooks"])

WEBHOOK_LIMIT = 25 * 1024 * 1024
"""GitHub caps a webhook delivery at 25 MB; every git host Wharf knows sends less."""
MAX_BODY = WEBHOOK_LIMIT
"""GitHub's own limit for a delivery (BodyLimit stops larger bodies as they stream)."""

_SECRET_IN_PATH = re.compile(r"^(/hooks/[^/]+/[^/]+/)[^/?]+")


class PayloadTooLarge(ServiceError):
    status = 413
    default_code = "payload-too-large"
    title = "Payload too large"


@router.post(
    "/hooks/{ws}/{app}/{secret}/{provider}",
    response_model=schemas.HookResponse,
    responses={400: {}, 401: {}, 404: {}, 413: {}},
)
async def receive_webhook(
    ws: str, app: str, secret: str, provider: str, request: Request
) -> schemas.HookResponse:
    """A push (or ping) from GitHub, GitLab, Gitea/Forgejo, Bitbucket, or a generic caller.
    A push to the app's branch queues a build of exactly the pushed commit."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY // (1024 * 1024)} MiB")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY // (1024 * 1024)} MiB")
    platform: Platform = request.app.state.platform
    call = webhooks.HookCall(
        workspace=ws,
        app=app,
        secret=secret,
        provider=provider,
        headers={name.lower(): value for name, value in request.headers.items()},
        body=body,
        content_type=request.headers.get("content-type", ""),
    )

    def receive() -> webhooks.HookOutcome:
        with platform.transaction() as session:
            return webhooks.receive_webhook(session, platform.secrets, call)

    outcome = await run_in_threadpool(receive)
    if outcome.error is not None:
        raise outcome.error
    if outcome.build is not None:
        platform.build_runner.wake()
    return schemas.HookResponse(
        result=outcome.result, detail=outcome.detail, build=outcome.build, commit_sha=outcome.commit
    )


def redact_hook_secret(path: str) -> str:
    """``/hooks/ws/app/***/github`` for ``/hooks/ws/app/<secret>/github``; other paths as is."""
    return _SECRET_IN_PATH.sub(r"\1***", path)


class RedactHookSecrets(logging.Filter):
    """Masks the secret of webhook URLs in uvicorn's access log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        args: Any = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            masked = redact_hook_secret(args[2])
            if masked != args[2]:
                record.args = (*args[:2], masked, *args[3:])
        return True

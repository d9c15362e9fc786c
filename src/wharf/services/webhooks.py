"""Webhooks: a push to an app's branch rebuilds and redeploys it, with nobody at the platform.

The secret in the webhook URL authenticates the call (compared in constant time); when the
app also has a signing secret, the provider's signature must match. Every call is recorded
on the app. A burst of pushes coalesces: at most one build runs and at most one waits, and
the waiting one builds the newest pushed commit.
"""

from __future__ import annotations

import hmac
import secrets as random_secrets
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from wharf.errors import Invalid, NotFound, ServiceError, Unauthenticated
from wharf.services import builds
from wharf.services.apps import new_webhook_secret, read_app
from wharf.services.secrets import SecretBox
from wharf.services.webhook_payloads import PROVIDERS, Delivery, Push, read_delivery
from wharf.services.webhook_payloads import verify_signature as check_signature
from wharf.store.models import App, WebhookDelivery, Workspace

KEEP_DELIVERIES = 200
"""Deliveries kept per app; older ones are forgotten."""

QUEUED, COALESCED, SKIPPED, IGNORED = "queued", "coalesced", "skipped", "ignored"
DUPLICATE, REJECTED = "duplicate", "rejected"


@dataclass(frozen=True)
class HookCall:
    """One request to ``/hooks/{ws}/{app}/{secret}/{provider}``."""

    workspace: str
    app: str
    secret: str
    provider: str
    headers: Mapping[str, str]
    """Header names in lower case."""
    body: bytes
    content_type: str


@dataclass(frozen=True)
class HookOutcome:
    """What Wharf did with a call; ``error`` is raised once the record of the call is saved."""

    result: str
    detail: str
    build: int | None = None
    commit: str | None = None
    error: ServiceError | None = None


SECRET_MASK = "<secret>"  # noqa: S105 (a placeholder, not a secret)
"""What stands for the secret in a URL shown to someone who may not read it."""


def webhook_urls(box: SecretBox, public_url: str, workspace: str, app: App) -> dict[str, str]:
    """The app's webhook URL for each provider, with its secret."""
    secret = box.decrypt(_ensure_secret(box, app))
    return _urls(public_url, workspace, app.name, secret)


def masked_webhook_urls(public_url: str, workspace: str, app: App) -> dict[str, str]:
    """The app's webhook URLs with the secret masked: what anyone who sees the app may see
    (whoever holds the real URL can start builds)."""
    return _urls(public_url, workspace, app.name, SECRET_MASK)


def _urls(public_url: str, workspace: str, app_name: str, secret: str) -> dict[str, str]:
    return {p: f"{public_url}/hooks/{workspace}/{app_name}/{secret}/{p}" for p in PROVIDERS}


def _ensure_secret(box: SecretBox, app: App) -> str:
    if app.webhook_secret is None:  # apps made before webhooks existed
        app.webhook_secret = new_webhook_secret(box)
    return app.webhook_secret


def rotate_webhook_secret(box: SecretBox, app: App) -> None:
    """A new URL secret; the old URLs stop working at once."""
    app.webhook_secret = new_webhook_secret(box)


def set_signing_secret(
    box: SecretBox, app: App, value: str | None, *, generate: bool
) -> str | None:
    """Set, generate or (``None``) clear the signing secret. Returns a generated value, the
    only time Wharf shows it."""
    if generate:
        value = random_secrets.token_hex(20)
    if value is not None and len(value) < 8:
        raise Invalid("a signing secret needs 8 characters or more", field="signing_secret")
    app.webhook_signing_secret = box.encrypt(value) if value else None
    return value if generate else None


def list_deliveries(session: Session, app: App, limit: int = 50) -> list[WebhookDelivery]:
    """The app's latest webhook calls, newest first."""
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.app_id == app.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def receive_webhook(session: Session, box: SecretBox, call: HookCall) -> HookOutcome:
    """Authenticate, read and act on one webhook call, and record it on the app.

    Raises NotFound for an unknown workspace, app or provider; every other refusal comes
    back as the outcome's ``error``, so that the record of the call is kept.
    """
    if call.provider not in PROVIDERS:
        raise NotFound(f"unknown webhook provider {call.provider!r}: use {', '.join(PROVIDERS)}")
    workspace = session.scalar(select(Workspace).where(Workspace.name == call.workspace))
    if workspace is None:
        raise NotFound(f"app {call.app!r} does not exist in workspace {call.workspace!r}")
    app = read_app(session, workspace, call.app)
    # Every webhook call of one app passes here one at a time: the row lock orders them.
    builds.lock_app(session, app)
    outcome, delivery = _handle(session, box, app, call)
    _record(session, app, call, outcome, delivery)
    return outcome


def _handle(
    session: Session, box: SecretBox, app: App, call: HookCall
) -> tuple[HookOutcome, Delivery | None]:
    stored = _ensure_secret(box, app)
    if not hmac.compare_digest(box.decrypt(stored).encode(), call.secret.encode()):
        error = Unauthenticated("the secret in the webhook URL is wrong")
        return HookOutcome(REJECTED, error.detail, error=error), None
    try:
        if app.webhook_signing_secret is not None:
            signing = box.decrypt(app.webhook_signing_secret)
            check_signature(call.provider, call.headers, call.body, signing)
        delivery = read_delivery(call.provider, call.headers, call.body, call.content_type)
    except ServiceError as error:
        return HookOutcome(REJECTED, error.detail, error=error), None
    if delivery.delivery_id and _seen(session, app, call.provider, delivery.delivery_id):
        detail = f"delivery {delivery.delivery_id} was received before; nothing more to do"
        return HookOutcome(DUPLICATE, detail), delivery
    if delivery.action == "ping":
        return HookOutcome(IGNORED, "pong: the webhook reaches Wharf"), delivery
    if delivery.action == "ignore":
        return HookOutcome(IGNORED, f"{delivery.event} events do not build"), delivery
    return _build_push(session, app, call.provider, delivery), delivery


def _seen(session: Session, app: App, provider: str, delivery_id: str) -> bool:
    found = session.scalar(
        select(WebhookDelivery.id).where(
            WebhookDelivery.app_id == app.id,
            WebhookDelivery.provider == provider,
            WebhookDelivery.delivery_id == delivery_id,
        )
    )
    return found is not None


def _build_push(session: Session, app: App, provider: str, delivery: Delivery) -> HookOutcome:
    push = _tracked_push(app, delivery.pushes)
    if isinstance(push, str):
        return HookOutcome(SKIPPED, push)
    build, coalesced = builds.queue_commit_build(
        session, app, push.commit, trigger=f"webhook:{provider}", created_by=None
    )
    what = push.commit[:12] if push.commit else f"the tip of {app.git_ref}"
    if coalesced:
        detail = f"build #{build.number} was waiting; it will build {what} instead"
        return HookOutcome(COALESCED, detail, build.number, push.commit)
    return HookOutcome(QUEUED, f"build #{build.number} of {what}", build.number, push.commit)


def _tracked_push(app: App, pushes: tuple[Push, ...]) -> Push | str:
    """The push of the app's tracked branch, or why the delivery builds nothing."""
    if not pushes:
        return Push("branch", app.git_ref, None)
    for push in pushes:
        if push.kind == "branch" and push.name in (app.git_ref, ""):
            if push.commit is None and push.name:
                return f"branch {push.name} was deleted; nothing to build"
            return push
    pushed = ", ".join(f"{p.kind} {p.name}" for p in pushes)
    return f"push to {pushed}; the app builds branch {app.git_ref}"


def _record(
    session: Session,
    app: App,
    call: HookCall,
    outcome: HookOutcome,
    delivery: Delivery | None,
) -> None:
    # A repeated delivery is recorded without its id: the first one holds it.
    delivery_id = delivery.delivery_id if delivery and outcome.result != DUPLICATE else None
    session.add(
        WebhookDelivery(
            app_id=app.id,
            provider=call.provider,
            delivery_id=delivery_id[:128] if delivery_id else None,
            event=(delivery.event if delivery else "")[:64],
            result=outcome.result,
            detail=outcome.detail,
            commit_sha=outcome.commit,
            build_number=outcome.build,
        )
    )
    session.flush()
    old = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.app_id == app.id)
        .order_by(WebhookDelivery.id.desc())
        .offset(KEEP_DELIVERIES)
    )
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(old)))

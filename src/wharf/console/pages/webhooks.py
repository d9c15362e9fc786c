"""The app's Webhooks tab: the URL per git host (secret masked, or copied whole by those who
may start builds), rotation, and recent deliveries with their result."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from wharf.console.context import ConsoleContext, action, page
from wharf.console.errors import ConsoleRoute
from wharf.console.pages.apps import load_app
from wharf.console.render import render
from wharf.services import webhooks

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

RECENT_DELIVERIES = 20
READ_SECRET = "builds/write"  # noqa: S105 (a permission)
"""Whoever holds a webhook URL can start builds: reading it takes what starting one takes
(as the API's ``GET .../webhooks``)."""


@router.get("/w/{ws}/apps/{app}/webhooks")
def webhooks_tab(ws: str, app: str, ctx: ConsoleContext = page("apps/read")) -> Response:
    public_url = ctx.platform.settings.effective_public_url
    with ctx.platform.transaction() as session:
        found = ctx.read_app(session, app)
        masked = webhooks.masked_webhook_urls(public_url, ws, found)
        full = (
            webhooks.webhook_urls(ctx.platform.secrets, public_url, ws, found)
            if ctx.can(READ_SECRET)
            else {}
        )
        deliveries = webhooks.list_deliveries(session, found, RECENT_DELIVERIES)
        signed = found.webhook_signing_secret is not None
    return render(
        ctx,
        "apps/webhooks.html",
        api=ctx.api_url("apps", app, "webhooks", "deliveries"),
        app=load_app(ctx, app),
        tab="webhooks",
        masked=masked,
        full=full,
        deliveries=deliveries,
        signed=signed,
    )


@router.post("/w/{ws}/apps/{app}/webhooks/rotate")
def rotate(ws: str, app: str, ctx: ConsoleContext = action("apps/write")) -> Response:
    """A new secret: the old URLs stop working at once."""
    with ctx.platform.transaction() as session:
        found = ctx.read_app(session, app)
        webhooks.rotate_webhook_secret(ctx.platform.secrets, found)
    return RedirectResponse(ctx.ws_url("apps", app, "webhooks"), status_code=303)

"""Your tokens: create one (its secret shown once), see them, revoke them."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Form
from starlette.responses import RedirectResponse, Response

from wharf.api.routers.tokens import token_out
from wharf.console.context import ConsoleContext, action, page
from wharf.console.errors import ConsoleRoute
from wharf.console.form_state import FormState, refuse_form, render_form_page
from wharf.console.pagination import PageNumber, paginate
from wharf.errors import Invalid
from wharf.services import tokens, users

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


BLANK = FormState({"name": "", "expires_in": ""})


def _page(
    ctx: ConsoleContext, number: int = 1, form: FormState = BLANK, created: str | None = None
) -> Response:
    with ctx.platform.transaction() as session:
        owner = users.read_user_by_id(session, ctx.principal.user_id)
        listed = [token_out(t) for t in tokens.list_tokens(session, owner)]
    return render_form_page(
        ctx,
        "tokens/index.html",
        form,
        api="/api/v1/tokens",
        tokens=paginate(listed, number),
        created=created,
        default_days=ctx.platform.settings.token_ttl_days,
    )


@router.get("/tokens")
def your_tokens(number: PageNumber = 1, ctx: ConsoleContext = page()) -> Response:
    return _page(ctx, number)


@router.post("/tokens")
def create_token(
    name: Annotated[str, Form(max_length=255)] = "",
    expires_in: Annotated[str, Form(max_length=32)] = "",
    ctx: ConsoleContext = action(),
) -> Response:
    """A token for yourself; the page shows its secret this once."""
    values = {"name": name, "expires_in": expires_in}
    try:
        with ctx.platform.transaction() as session:
            owner = users.read_user_by_id(session, ctx.principal.user_id)
            lifetime = tokens.parse_lifetime(expires_in, ctx.platform.settings.token_ttl_days)
            _, plaintext = tokens.create_token(session, owner, name=name.strip(), lifetime=lifetime)
    except Invalid as error:
        return _page(ctx, form=refuse_form(values, error))
    return _page(ctx, form=replace(BLANK, status=201), created=plaintext)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(token_id: str, ctx: ConsoleContext = action()) -> Response:
    with ctx.platform.transaction() as session:
        tokens.revoke_token(session, ctx.principal, token_id)
    return RedirectResponse("/tokens", status_code=303)

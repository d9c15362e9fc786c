"""Source secrets: their names, kinds and the apps that use them (never their values);
create and delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.responses import RedirectResponse, Response

from wharf.api.routers.source_secrets import secret_out
from wharf.console.context import ConsoleContext, action, page
from wharf.console.errors import ConsoleRoute
from wharf.console.form_state import FormState, refuse_form, render_form_page
from wharf.console.pagination import PageNumber, paginate
from wharf.errors import Conflict, Invalid
from wharf.services import source_secrets

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

SecretText = Annotated[str, Form(max_length=64 * 1024)]


BLANK = FormState({"name": "", "username": ""})


def _page(ctx: ConsoleContext, number: int = 1, form: FormState = BLANK) -> Response:
    with ctx.platform.transaction() as session:
        workspace = ctx.read_workspace(session)
        listed = [
            secret_out(session, ctx.platform, secret)
            for secret in source_secrets.list_source_secrets(session, workspace)
        ]
    return render_form_page(
        ctx,
        "source_secrets/index.html",
        form,
        api=ctx.api_url("source-secrets"),
        secrets=paginate(listed, number),
    )


@router.get("/w/{ws}/source-secrets")
def list_secrets(
    ws: str, number: PageNumber = 1, ctx: ConsoleContext = page("source-secrets/read")
) -> Response:
    return _page(ctx, number)


@router.post("/w/{ws}/source-secrets")
def create_secret(
    ws: str,
    name: Annotated[str, Form(max_length=255)] = "",
    username: Annotated[str, Form(max_length=255)] = "",
    password: SecretText = "",
    ssh_private_key: SecretText = "",
    known_hosts: SecretText = "",
    ctx: ConsoleContext = action("source-secrets/write"),
) -> Response:
    """Store credentials for a private repository: a user name and password or token
    (https), or a private key (ssh)."""
    values = {"name": name, "username": username}
    spec = source_secrets.SourceSecretSpec(
        name=name.strip(),
        username=username or None,
        password=password or None,
        ssh_private_key=ssh_private_key or None,
        known_hosts=known_hosts or None,
    )
    try:
        with ctx.platform.transaction() as session:
            workspace = ctx.read_workspace(session)
            source_secrets.create_source_secret(
                session, ctx.platform.secrets, workspace, spec, created_by=ctx.user_name
            )
    except (Invalid, Conflict) as error:
        return _page(ctx, form=refuse_form(values, error))
    return RedirectResponse(ctx.ws_url("source-secrets"), status_code=303)


@router.post("/w/{ws}/source-secrets/{name}/delete")
def delete_secret(
    ws: str, name: str, ctx: ConsoleContext = action("source-secrets/write")
) -> Response:
    with ctx.platform.transaction() as session:
        source_secrets.delete_source_secret(session, ctx.read_workspace(session), name)
    return RedirectResponse(ctx.ws_url("source-secrets"), status_code=303)

"""``wharf token``: create, list and revoke API tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from wharf.cli._output import (
    OutputFormat,
    OutputOption,
    emit,
    emit_or_confirm,
    open_client,
    print_success,
)
from wharf.schemas.identity import Token

app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)

COLUMNS = [
    ("ID", lambda t: t.id),
    ("NAME", lambda t: t.name),
    ("USER", lambda t: t.user),
    ("STATE", lambda t: t.state),
    ("EXPIRES", lambda t: t.expires_at or "never"),
    ("LAST USED", lambda t: t.last_used_at),
]


@app.command("create")
def create(
    user: Annotated[str | None, typer.Option(help="whose token (admins only)")] = None,
    name: Annotated[str, typer.Option(help="what the token is for")] = "cli",
    expires_in: Annotated[
        str | None, typer.Option(help="lifetime: 30d, 12h, 90m, 2w or never (default 90d)")
    ] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Create a token. Its secret is printed once: store it now."""
    with open_client() as client:
        created = client.tokens.create(name, user=user, expires_in=expires_in)
    if output is OutputFormat.json:
        emit(created, output, COLUMNS)
        return
    typer.echo(created.token)
    expiry = created.expires_at.isoformat() if created.expires_at else "never"
    print_success(f"token {created.id} for {created.user} (expires {expiry}); shown only once")


@app.command("list")
def list_(
    user: Annotated[str | None, typer.Option(help="whose tokens (admins only)")] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """List tokens (never their secrets)."""
    with open_client() as client:
        found: list[Token] = client.tokens.list(user=user)
    emit(found, output, COLUMNS)


@app.command("revoke")
def revoke(token_id: str, output: OutputOption = OutputFormat.table) -> None:
    """Revoke a token at once."""
    with open_client() as client:
        token = client.tokens.revoke(token_id)
    emit_or_confirm(token, output, COLUMNS, f"token {token.id} revoked")

"""``wharf user``: platform admins create and list users; anyone sets their console password."""

from __future__ import annotations

import sys
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

app = typer.Typer(help="Create and list users (platform admins).", no_args_is_help=True)

COLUMNS = [
    ("NAME", lambda u: u.name),
    ("EMAIL", lambda u: u.email),
    ("ADMIN", lambda u: u.is_admin),
    ("CREATED", lambda u: u.created_at),
]


@app.command("create")
def create(
    name: str,
    email: Annotated[str | None, typer.Option(help="contact address")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="make a platform admin")] = False,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Create a user. Give them a role with 'wharf role assign' and a token with
    'wharf token create --user NAME'."""
    with open_client() as client:
        user = client.users.create(name, email=email, is_admin=admin)
    emit_or_confirm(user, output, COLUMNS, f"user {user.name} created")


@app.command("list")
def list_(output: OutputOption = OutputFormat.table) -> None:
    """List users."""
    with open_client() as client:
        emit(client.users.list(), output, COLUMNS)


@app.command("show")
def show(
    name: Annotated[str | None, typer.Argument(help="user name (default: you)")] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Show a user (default: the one the CLI is logged in as)."""
    with open_client() as client:
        user = client.users.get(name) if name else client.users.me()
    emit(user, output, COLUMNS)


@app.command("set-password")
def set_password(
    name: Annotated[str | None, typer.Argument(help="user name (default: you)")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Set a web console password (yours, or anyone's as a platform admin); it is asked for
    twice, or read from standard input. The user's console sessions end."""
    if password_stdin:
        password = sys.stdin.read().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    else:
        raise typer.BadParameter("give --password-stdin, or run on a terminal to be asked")
    with open_client() as client:
        user_name = name or client.users.me().name
        client.users.set_password(user_name, password)
    print_success(f"password of {user_name} set")

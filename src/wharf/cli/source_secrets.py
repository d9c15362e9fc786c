"""``wharf source-secret``: credentials for private git repositories (write-only)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from wharf.cli._output import (
    OutputFormat,
    OutputOption,
    WorkspaceOption,
    emit,
    emit_or_confirm,
    open_client,
    print_success,
)

app = typer.Typer(
    help="Credentials for private git repositories: create, list, show, delete.",
    no_args_is_help=True,
)

COLUMNS = [
    ("NAME", lambda s: s.name),
    ("TYPE", lambda s: s.type),
    ("HOLDS", lambda s: ", ".join(s.fields)),
    ("USED BY", lambda s: ", ".join(s.used_by) or "-"),
    ("CREATED", lambda s: s.created_at.strftime("%Y-%m-%d %H:%M")),
]


def _read_file(path: Path, flag: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint=flag) from exc


@app.command("create")
def create(
    name: str,
    username: Annotated[str | None, typer.Option(help="https: the user name")] = None,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="https: read the password or token from stdin"),
    ] = False,
    ssh_key_file: Annotated[
        Path | None, typer.Option(help="ssh: a private key file (no passphrase)")
    ] = None,
    known_hosts_file: Annotated[
        Path | None, typer.Option(help="ssh: known_hosts lines to check the server against")
    ] = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Store credentials for a private repository; use them with
    `wharf app create --source-secret NAME`. For https, the password or token is read from
    standard input (--password-stdin) or asked for; it never goes on the command line."""
    password = key = known = None
    if ssh_key_file is not None:
        key = _read_file(ssh_key_file, "--ssh-key-file")
        if known_hosts_file is not None:
            known = _read_file(known_hosts_file, "--known-hosts-file")
    elif password_stdin:
        password = sys.stdin.read().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = typer.prompt("Password or token", hide_input=True)
    else:
        raise typer.BadParameter("give --password-stdin (https) or --ssh-key-file (ssh)")
    with open_client(workspace) as client:
        created = client.source_secrets.create(
            name, username=username, password=password, ssh_private_key=key, known_hosts=known
        )
    emit_or_confirm(
        created, output, COLUMNS, f"source secret {created.name} ({created.type}) created"
    )


@app.command("list")
def list_(workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.table) -> None:
    """List source secrets (names and kinds, never values)."""
    with open_client(workspace) as client:
        emit(client.source_secrets.list(), output, COLUMNS)


@app.command("show")
def show(
    name: str, workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.table
) -> None:
    """Show a source secret: its kind, which values it holds, the apps that use it."""
    with open_client(workspace) as client:
        emit(client.source_secrets.get(name), output, COLUMNS)


@app.command("delete")
def delete(name: str, workspace: WorkspaceOption = None) -> None:
    """Delete a source secret that no app uses."""
    with open_client(workspace) as client:
        client.source_secrets.delete(name)
    print_success(f"source secret {name} deleted")

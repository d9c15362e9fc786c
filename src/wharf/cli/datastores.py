"""``wharf datastore``: storage roots of a workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wharf.cli._files import read_spec
from wharf.cli._output import (
    OutputFormat,
    OutputOption,
    WorkspaceOption,
    emit,
    emit_or_confirm,
    open_client,
    print_success,
)
from wharf.sdk import InvalidRequestError

app = typer.Typer(help="Datastores: create, list, show, delete.", no_args_is_help=True)

COLUMNS = [
    ("NAME", lambda d: d.name),
    ("TYPE", lambda d: d.type),
    ("DEFAULT", lambda d: d.is_default),
    (
        "WHERE",
        lambda d: (
            d.settings.get("root") or d.settings.get("bucket") or d.settings.get("container_name")
        ),
    ),
    ("CREDENTIALS", lambda d: "set" if d.has_credentials else "-"),
]


@app.command("create")
def create(
    file: Annotated[Path | None, typer.Option("--file", "-f", help="datastore YAML")] = None,
    name: Annotated[str | None, typer.Option(help="datastore name")] = None,
    type: Annotated[str | None, typer.Option("--type", help="local, s3, azure_blob or gcs")] = None,
    root: Annotated[str | None, typer.Option(help="local: folder")] = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Create a datastore from a YAML file (Azure ML datastore fields work) or flags.
    Credentials belong in the file's 'credentials:' mapping; they are never shown again."""
    spec = read_spec(file) if file else {}
    spec.update({k: v for k, v in {"name": name, "type": type, "root": root}.items() if v})
    if not spec.get("name") or not spec.get("type"):
        raise InvalidRequestError(422, "invalid", "give --file, or --name and --type")
    with open_client(workspace) as client:
        created = client.datastores.create_or_update(spec)
    emit_or_confirm(created, output, COLUMNS, f"datastore {created.name} ({created.type}) created")


@app.command("list")
def list_(workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.table) -> None:
    """List datastores."""
    with open_client(workspace) as client:
        emit(client.datastores.list(), output, COLUMNS)


@app.command("show")
def show(
    name_argument: Annotated[str | None, typer.Argument(help="the name (or use --name)")] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="the name")] = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Show a datastore (never its credentials); 'workspaceblobstore' is the default one."""
    chosen = name_argument or name
    if not chosen:
        raise InvalidRequestError(422, "invalid", "give the datastore name (NAME or --name)")
    with open_client(workspace) as client:
        emit(client.datastores.get(chosen), output, COLUMNS)


@app.command("delete")
def delete(name: str, workspace: WorkspaceOption = None) -> None:
    """Forget a datastore no asset uses (its files stay where they are)."""
    with open_client(workspace) as client:
        client.datastores.delete(name)
    print_success(f"datastore {name} deleted")

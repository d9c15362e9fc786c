"""``wharf workspace``: create, list, show, and choose the one the CLI acts on."""

from __future__ import annotations

from typing import Annotated

import typer

from wharf.cli._output import OutputFormat, OutputOption, emit, open_client, print_success
from wharf.sdk import read_config, write_config

app = typer.Typer(help="Workspaces: create, list, show, use.", no_args_is_help=True)

COLUMNS = [
    ("NAME", lambda w: w.name),
    ("DESCRIPTION", lambda w: w.description),
    ("CREATED", lambda w: w.created_at),
]


@app.command("create")
def create(
    name: str,
    description: Annotated[str, typer.Option(help="what the workspace is for")] = "",
    output: OutputOption = OutputFormat.table,
) -> None:
    """Create a workspace (platform admins); you become its owner."""
    with open_client() as client:
        workspace = client.workspaces.create(name, description=description)
    if output is OutputFormat.json:
        emit(workspace, output, COLUMNS)
    else:
        print_success(
            f"workspace {workspace.name} created; 'wharf workspace use {name}' selects it"
        )


@app.command("list")
def list_(output: OutputOption = OutputFormat.table) -> None:
    """List the workspaces you belong to."""
    with open_client() as client:
        emit(client.workspaces.list(), output, COLUMNS)


@app.command("show")
def show(
    name: Annotated[str | None, typer.Argument(help="workspace (default: the current one)")] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Show a workspace."""
    with open_client() as client:
        emit(client.workspaces.get(name), output, COLUMNS)


@app.command("use")
def use(name: str) -> None:
    """Make NAME the workspace CLI commands act on."""
    with open_client(name) as client:
        client.workspaces.get(name)
    config = read_config(use_env=False)
    write_config(type(config)(url=config.url, token=config.token, workspace=name))
    print_success(f"now using workspace {name}")

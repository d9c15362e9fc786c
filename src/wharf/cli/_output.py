"""How commands print: tables for people, JSON with ``--output json``, errors in one line."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from wharf.sdk import Client

# No emoji codes: "data:heart:1" is a reference, not a heart.
console = Console(emoji=False)
error_console = Console(stderr=True, emoji=False)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


OutputOption = Annotated[
    OutputFormat,
    typer.Option("--output", help="table for people, json for scripts", case_sensitive=False),
]
WorkspaceOption = Annotated[
    str | None,
    typer.Option(
        "--workspace", "-w", help="workspace to act on (default: WHARF_WORKSPACE or the config)"
    ),
]


def open_client(workspace: str | None = None) -> Client:
    """The SDK client from the config file and environment, optionally in another workspace."""
    client = Client.from_config()
    if workspace:
        client.workspace = workspace
    return client


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def print_json(value: Any) -> None:
    """Print a model, a list of models, or plain data as JSON on stdout."""
    typer.echo(json.dumps(_plain(value), indent=2, default=str))


Column = tuple[str, Callable[[Any], Any]]


def emit(
    value: BaseModel | Sequence[BaseModel],
    output: OutputFormat,
    columns: Sequence[Column],
    *,
    title: str | None = None,
) -> None:
    """Print one item or a list: a table of ``columns`` for people, JSON for scripts."""
    if output is OutputFormat.json:
        print_json(value)
        return
    rows = list(value) if isinstance(value, Sequence) else [value]
    table = Table(title=title, show_edge=False, header_style="bold")
    for heading, _ in columns:
        table.add_column(heading)
    for row in rows:
        # Text, not markup: a value holding "[...]" is shown as it is.
        table.add_row(*(Text(_cell(getter(row))) for _, getter in columns))
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if hasattr(value, "strftime"):
        return str(value.strftime("%Y-%m-%d %H:%M"))
    return str(value)


def print_success(message: str) -> None:
    """A short confirmation on stderr, so stdout stays clean for scripts."""
    error_console.print(f"[green]✓[/green] {escape(message)}", highlight=False, soft_wrap=True)


def print_warning(message: str) -> None:
    """One yellow line on stderr: something worth knowing that did not stop the command."""
    text = escape(message.removeprefix("warning: "))
    error_console.print(f"[yellow]Warning:[/yellow] {text}", highlight=False, soft_wrap=True)


def print_error(message: str) -> None:
    """One plain red line on stderr."""
    error_console.print(f"[red]Error:[/red] {escape(message)}", highlight=False, soft_wrap=True)

"""How commands print: tables for people; ``-o json|yaml|tsv`` and ``--query`` (JMESPath) for
scripts, as ``az`` users write them; errors in one line.

Commands only ask "table or not": ``--output`` parses to :class:`OutputFormat` ``table`` or
``json`` (any machine format), and the rendering asked for (``yaml``, ``tsv``) and the query
are kept here for the one process a command runs in, so every command gets them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from pydantic import BaseModel

    from wharf.sdk import Client

# jmespath, yaml, pydantic, rich's tables and the SDK are imported where they are used: every
# command imports this module, and `wharf --help` needs none of them.

# No emoji codes: "data:heart:1" is a reference, not a heart.
console = Console(emoji=False)
error_console = Console(stderr=True, emoji=False)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


RENDERINGS = ("table", "json", "yaml", "tsv")
OUTPUT_ENV = "WHARF_OUTPUT"


@dataclass
class _Asked:
    rendering: str = "table"
    query: str | None = None
    ca_cert: Path | None = None


_asked = _Asked()


def reset_output(query: str | None = None, ca_cert: Path | None = None) -> None:
    """Start a command: no rendering asked for yet, ``query`` (``--query``) to apply, and the
    CA to trust (``--ca-cert``)."""
    if query is not None:
        import jmespath  # type: ignore[import-untyped]

        try:
            jmespath.compile(query)
        except jmespath.exceptions.JMESPathError as exc:
            raise typer.BadParameter(f"--query {query!r} is not valid JMESPath: {exc}") from None
    _asked.rendering = "table"
    _asked.query = query
    _asked.ca_cert = ca_cert


def asked_ca_cert() -> Path | None:
    """The ``--ca-cert`` the command line gave, if any."""
    return _asked.ca_cert


def _parse_output(value: Any) -> OutputFormat:
    if isinstance(value, OutputFormat):  # the default, not typed by the user
        # WHARF_OUTPUT sets the default, as AZURE_CORE_OUTPUT does for az (scripts that pipe
        # 'show' into jq); a query without -o prints its result as JSON, not a table.
        preferred = os.environ.get(OUTPUT_ENV, "").strip().lower()
        if preferred in RENDERINGS:
            value = preferred
        elif _asked.query is not None:
            value = "json"
        else:
            _asked.rendering = "table"
            return OutputFormat.table
    wanted = str(value).strip().lower()
    if wanted not in RENDERINGS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(RENDERINGS)}")
    _asked.rendering = wanted
    return OutputFormat.table if wanted == "table" else OutputFormat.json


OutputOption = Annotated[
    OutputFormat,
    typer.Option(
        "--output",
        "-o",
        help="table for people; json, yaml or tsv for scripts (with --query, a JMESPath)",
        parser=_parse_output,
        metavar="[table|json|yaml|tsv]",
    ),
]
QueryOption = Annotated[
    str | None,
    typer.Option("--query", help="a JMESPath applied to the output, as az does ('id', '[].name')"),
]
WorkspaceOption = Annotated[
    str | None,
    typer.Option(
        "--workspace", "-w", help="workspace to act on (default: WHARF_WORKSPACE or the config)"
    ),
]


def open_client(workspace: str | None = None) -> Client:
    """The SDK client from the config file and environment, optionally in another workspace."""
    from wharf.sdk import Client

    client = Client.from_config(ca_cert=_asked.ca_cert)
    if workspace:
        client.workspace = workspace
    return client


def _plain(value: Any) -> Any:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def print_json(value: Any) -> None:
    """Print a model, a list of models, or plain data for scripts: JSON, or the YAML or TSV
    asked for, after the ``--query`` if one was given."""
    plain = json.loads(json.dumps(_plain(value), default=str))
    if _asked.query is not None:
        import jmespath

        plain = jmespath.search(_asked.query, plain)
    if _asked.rendering == "yaml":
        import yaml

        typer.echo(yaml.safe_dump(plain, sort_keys=False, allow_unicode=True).rstrip("\n"))
    elif _asked.rendering == "tsv":
        for line in _tsv_lines(plain):
            typer.echo(line)
    else:
        typer.echo(json.dumps(plain, indent=2))


def _tsv_lines(value: Any) -> list[str]:
    """As ``az -o tsv``: one line per item of a list, a mapping's values tab-separated,
    nested structures as compact JSON, nothing for null."""
    items = value if isinstance(value, list) else [value]
    return ["\t".join(_tsv_cell(v) for v in _tsv_row(item)) for item in items]


def _tsv_row(item: Any) -> list[Any]:
    if isinstance(item, dict):
        return list(item.values())
    return list(item) if isinstance(item, list) else [item]


def _tsv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


Column = tuple[str, Callable[[Any], Any]]


def emit(
    value: BaseModel | Sequence[BaseModel],
    output: OutputFormat,
    columns: Sequence[Column],
    *,
    title: str | None = None,
) -> None:
    """Print one item or a list: a table of ``columns`` for people, JSON/YAML/TSV for scripts
    (a ``--query`` applies to those, so with one the table gives way to its result)."""
    if output is OutputFormat.json or _asked.query is not None:
        print_json(value)
        return
    from rich.table import Table
    from rich.text import Text

    rows = list(value) if isinstance(value, Sequence) else [value]
    cells = [[_cell(getter(row)) for _, getter in columns] for row in rows]
    table = Table(title=title, show_edge=False, header_style="bold")
    for index, (heading, _) in enumerate(columns):
        if index == 0:  # the name people copy into the next command: whole, never cut short
            widest = max((len(row[0]) for row in cells), default=0)
            table.add_column(heading, no_wrap=True, min_width=max(widest, len(heading)))
        else:
            table.add_column(heading)
    for row_cells in cells:
        # Text, not markup: a value holding "[...]" is shown as it is.
        table.add_row(*(Text(cell) for cell in row_cells))
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


def emit_or_confirm(
    value: BaseModel, output: OutputFormat, columns: Sequence[Column], message: str
) -> None:
    """What a command that changed something prints: ``value`` for scripts, ``message`` as a
    confirmation for people."""
    if output is OutputFormat.json:
        emit(value, output, columns)
    else:
        print_success(message)


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

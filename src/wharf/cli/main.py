"""The ``wharf`` command: every noun's commands, and one place that turns errors into a line."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import typer
import typer.main
from typer.core import TyperGroup

from wharf.cli._output import QueryOption, print_error, reset_output
from wharf.errors import ServiceError
from wharf.sdk import ServerUnavailableError, WharfError
from wharf.version import __version__

# httpx imports its own command line on import (the real click, rich's syntax highlighting,
# pygments: about a third of a command's start-up) and carries on without it if that import
# fails. The wharf command never runs httpx's, so it stops that import before httpx loads.
if "httpx" not in sys.modules:
    sys.modules["httpx._main"] = None  # type: ignore[assignment]

EXIT_ERROR = 1
EXIT_UNAVAILABLE = 3


# Every command, in the order ``wharf --help`` lists them: name -> "module:attribute" (a
# function for a command, a typer app for a noun). A module is imported only when its command
# runs or a help lists it, so ``wharf app list`` loads neither the batch schemas nor the server.
COMMANDS = {
    "up": "wharf.cli.up:up",
    "login": "wharf.cli.login:login",
    "init": "wharf.cli.init:init",
    "serve": "wharf.cli.serve:serve",
    "token": "wharf.cli.tokens:app",
    "user": "wharf.cli.users:app",
    "role": "wharf.cli.roles:role_app",
    "member": "wharf.cli.roles:member_app",
    "workspace": "wharf.cli.workspaces:app",
    "datastore": "wharf.cli.datastores:app",
    "data": "wharf.cli.assets:data_app",
    "model": "wharf.cli.assets:model_app",
    "app": "wharf.cli.apps:app",
    "batch-endpoint": "wharf.cli.batch:endpoint_app",
    "batch-deployment": "wharf.cli.batch:deployment_app",
    "job": "wharf.cli.jobs:app",
    "source-secret": "wharf.cli.source_secrets:app",
    "notebook": "wharf.cli.notebooks:app",
}


def load_command(name: str) -> Any:  # typer vendors click; its Command type is private
    """The click command for ``wharf NAME``, importing its module now: built under a parent
    like the root (as ``add_typer`` would), so that its help reads the same."""
    module, _, attribute = COMMANDS[name].partition(":")
    target = getattr(importlib.import_module(module), attribute)
    parent = typer.Typer(rich_markup_mode=None, add_completion=False)
    parent.callback()(_no_options)
    if isinstance(target, typer.Typer):
        parent.add_typer(target, name=name)
    else:
        parent.command(name)(target)
    return typer.main.get_command(parent).commands[name]  # type: ignore[attr-defined]


def _no_options() -> None:
    """Makes the parent above a group."""


class _LoadingCommands(dict[str, Any]):
    """The root's ``commands``: ``commands["job"]`` loads ``wharf job`` if it is not yet."""

    def __missing__(self, name: str) -> Any:
        if name not in COMMANDS:
            raise KeyError(name)
        self[name] = command = load_command(name)
        return command


class WharfGroup(TyperGroup):
    """Runs a command and turns a user's mistake into one red line and a non-zero exit.

    Its commands are :data:`COMMANDS`, loaded on first use."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = _LoadingCommands(self.commands)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        return self.commands[cmd_name] if cmd_name in COMMANDS else None

    def invoke(self, ctx: Any) -> Any:  # typer vendors click; its Context type is private
        try:
            return super().invoke(ctx)
        except ServerUnavailableError as exc:
            print_error(str(exc))
            raise typer.Exit(EXIT_UNAVAILABLE) from None
        except (WharfError, ServiceError) as exc:
            print_error(str(exc))
            raise typer.Exit(EXIT_ERROR) from None


app = typer.Typer(
    name="wharf",
    cls=WharfGroup,
    help="Wharf: take machine-learning models from a notebook to production.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"wharf {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="print the version"
    ),
    query: QueryOption = None,
    ca_cert: Path | None = typer.Option(
        None,
        "--ca-cert",
        metavar="FILE",
        help="trust the CA in this PEM file for an https server (or WHARF_CA_CERT)",
    ),
) -> None:
    """Wharf: take machine-learning models from a notebook to production."""
    reset_output(query, ca_cert)


def hoist_query(argv: list[str]) -> list[str]:
    """``--query Q`` goes anywhere on the line, as az users type it (``wharf data show -n x
    --query id``): it is moved before the command, where the root option reads it."""
    rest: list[str] = []
    hoisted: list[str] = []
    index = 0
    while index < len(argv):
        word = argv[index]
        if word == "--":
            rest.extend(argv[index:])
            break
        if word == "--query" and index + 1 < len(argv):
            hoisted = ["--query", argv[index + 1]]
            index += 2
            continue
        if word.startswith("--query="):
            hoisted = ["--query", word.removeprefix("--query=")]
        else:
            rest.append(word)
        index += 1
    return [*hoisted, *rest]


def main() -> None:
    """Console-script entry point."""
    app(args=hoist_query(sys.argv[1:]))

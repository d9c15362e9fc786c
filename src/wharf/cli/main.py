"""The ``wharf`` command: every noun's commands, and one place that turns errors into a line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from wharf.cli import (
    apps,
    assets,
    batch,
    datastores,
    init,
    jobs,
    login,
    notebooks,
    roles,
    serve,
    source_secrets,
    tokens,
    up,
    users,
    workspaces,
)
from wharf.cli._output import QueryOption, print_error, reset_output
from wharf.errors import ServiceError
from wharf.sdk import ServerUnavailableError, WharfError
from wharf.version import __version__

EXIT_ERROR = 1
EXIT_UNAVAILABLE = 3


class WharfGroup(TyperGroup):
    """Runs a command and turns a user's mistake into one red line and a non-zero exit."""

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


app.command("up")(up.up)
app.command("login")(login.login)
app.command("init")(init.init)
app.command("serve")(serve.serve)
app.add_typer(tokens.app, name="token")
app.add_typer(users.app, name="user")
app.add_typer(roles.role_app, name="role")
app.add_typer(roles.member_app, name="member")
app.add_typer(workspaces.app, name="workspace")
app.add_typer(datastores.app, name="datastore")
app.add_typer(assets.data_app, name="data")
app.add_typer(assets.model_app, name="model")
app.add_typer(apps.app, name="app")
app.add_typer(batch.endpoint_app, name="batch-endpoint")
app.add_typer(batch.deployment_app, name="batch-deployment")
app.add_typer(jobs.app, name="job")
app.add_typer(source_secrets.app, name="source-secret")
app.add_typer(notebooks.app, name="notebook")


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

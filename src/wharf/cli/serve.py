"""``wharf serve``: run a model project locally exactly as Wharf runs it when deployed."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from wharf.cli._output import error_console
from wharf.errors import Invalid


def _parse_env(pairs: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            raise Invalid(f"--env takes NAME=VALUE, not {pair!r}")
        env[name] = value
    return env


def _log(line: str) -> None:
    error_console.print(f"  [dim]{escape(line)}[/dim]", highlight=False, soft_wrap=True)


def _say(message: str) -> None:
    # On stderr, unwrapped: the app's own log follows on the same streams.
    error_console.print(f"[green]✓[/green] {escape(message)}", highlight=False, soft_wrap=True)


def serve(
    path: Annotated[Path, typer.Argument(help="the model project's folder")] = Path("."),
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 5000,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    env: Annotated[
        list[str] | None,
        typer.Option(
            "--env", metavar="NAME=VALUE", help="set for the app's build and run (repeatable)"
        ),
    ] = None,
) -> None:
    """Run a model project exactly as it runs when deployed: its own environment, built
    from requirements.txt with uv and cached until the requirements change, then started by
    the S2I run rules (.s2i/environment, APP_SCRIPT, APP_FILE, gunicorn with APP_MODULE and
    APP_CONFIG). Ctrl-C stops it."""
    # Imported here: the settings and the build code are for this command only.
    from wharf.config import Settings
    from wharf.services.projects import prepare_serve

    settings = Settings()
    prepared = prepare_serve(
        path,
        port=port,
        host=host,
        envs_dir=settings.envs_dir,
        env=_parse_env(env or []),
        base_env=os.environ,
        log=_log,
    )
    environment = prepared.environment
    if environment.reused:
        _say(f"environment {environment.key} reused: the requirements have not changed")
    else:
        _say(f"environment {environment.key} built in {environment.seconds:.1f} s")
    command = prepared.command
    _say(f"serving {command.cwd} with {command.summary} at {prepared.url}")
    sys.stdout.flush()
    sys.stderr.flush()
    # Become the app, as S2I's run script does: signals reach it directly, nothing sits between.
    os.chdir(command.cwd)
    os.execve(command.argv[0], list(command.argv), command.env)  # noqa: S606

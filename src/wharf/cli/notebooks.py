"""``wharf notebook``: JupyterLab workbenches with git, each one user's, behind Wharf's sign-in."""

from __future__ import annotations

import webbrowser
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
    print_error,
    print_success,
)
from wharf.states import WorkbenchPhase

app = typer.Typer(
    help="JupyterLab workbenches: create, start, stop, list, show, open, delete.",
    no_args_is_help=True,
)


def _when(value: object) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M")  # type: ignore[attr-defined]


COLUMNS = [
    ("NAME", lambda w: w.name),
    ("STATE", lambda w: w.phase.value),
    ("MESSAGE", lambda w: w.message),
    ("IDLE TIMEOUT", lambda w: w.idle_timeout),
    ("LAST ACTIVITY", lambda w: _when(w.last_activity)),
    ("URL", lambda w: w.url),
]


def _read_requirements(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise typer.BadParameter(
            f"cannot read {path}: {reason}", param_hint="--image-requirements"
        ) from exc


@app.command("create")
def create(
    name: str,
    image_requirements: Annotated[
        Path | None,
        typer.Option(help="a requirements.txt of packages to install beside JupyterLab"),
    ] = None,
    cpu: Annotated[str | None, typer.Option(help="CPU limit, e.g. 500m or 2")] = None,
    memory: Annotated[str | None, typer.Option(help="memory limit, e.g. 2Gi")] = None,
    idle_timeout: Annotated[
        str | None, typer.Option(help="stop it after this long idle: 2h, 30m, 90s or never")
    ] = None,
    source_secret: Annotated[
        str | None, typer.Option(help="a source secret that git uses inside the workbench")
    ] = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Create a workbench (stopped): its home folder, its own token; then `wharf notebook start`."""
    requirements = _read_requirements(image_requirements)
    with open_client(workspace) as client:
        created = client.workbenches.create(
            name,
            requirements=requirements,
            cpu=cpu,
            memory=memory,
            idle_timeout=idle_timeout,
            source_secret=source_secret,
        )
    emit_or_confirm(
        created,
        output,
        COLUMNS,
        f"workbench {created.name} created; start it with 'wharf notebook start'",
    )


@app.command("start")
def start(
    name: str,
    wait: Annotated[bool, typer.Option(help="wait until JupyterLab answers")] = True,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Start JupyterLab (the first start of an environment builds it; later ones reuse it)."""
    with open_client(workspace) as client:
        found = client.workbenches.start(name, wait=wait)
    if output is OutputFormat.json:
        emit(found, output, COLUMNS)
    elif found.phase is WorkbenchPhase.FAILED:
        print_error(f"workbench {name} did not start: {found.message}")
        raise typer.Exit(1)
    else:
        print_success(
            f"workbench {name} is {found.phase.value}: open it with 'wharf notebook open'"
        )


@app.command("stop")
def stop(
    name: str, workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.table
) -> None:
    """Stop JupyterLab; the home folder's files stay for the next start."""
    with open_client(workspace) as client:
        found = client.workbenches.stop(name)
    emit_or_confirm(found, output, COLUMNS, f"workbench {name} stopped")


@app.command("list")
def list_(workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.table) -> None:
    """List your workbenches in the workspace, with their state and last activity."""
    with open_client(workspace) as client:
        emit(client.workbenches.list(), output, COLUMNS)


@app.command("show")
def show(
    name: str, workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.table
) -> None:
    """Show a workbench: state (and why), limits, idle timeout, last activity, URL."""
    with open_client(workspace) as client:
        emit(client.workbenches.get(name), output, COLUMNS)


@app.command("open")
def open_(
    name: str,
    browser: Annotated[bool, typer.Option(help="open the link in a web browser")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Print a one-time sign-in link (valid two minutes) to the running workbench."""
    with open_client(workspace) as client:
        url = client.workbenches.sign_in_url(name)
    typer.echo(url)
    if browser:
        webbrowser.open(url)


@app.command("delete")
def delete(name: str, workspace: WorkspaceOption = None) -> None:
    """Stop and delete a workbench: its home folder is removed and its token revoked."""
    with open_client(workspace) as client:
        client.workbenches.delete(name)
    print_success(f"workbench {name} deleted")

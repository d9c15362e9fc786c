"""``wharf app``: apps from git, their builds and logs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wharf.cli import app_changes
from wharf.cli._output import (
    OutputFormat,
    OutputOption,
    WorkspaceOption,
    emit,
    emit_or_confirm,
    open_client,
    print_error,
    print_success,
    print_warning,
)
from wharf.cli.app_changes import parse_pairs
from wharf.cli.app_show import show_app
from wharf.cli.webhooks import webhook_app
from wharf.sdk import InvalidRequestError
from wharf.states import AppPhase, BuildPhase

app = typer.Typer(
    help="Apps built from git: create, list, show, delete, builds.", no_args_is_help=True
)
build_app = typer.Typer(
    help="Builds of an app: start, list, show, logs, cancel.", no_args_is_help=True
)
app.add_typer(build_app, name="build")
app.add_typer(webhook_app, name="webhook")
app.command("update")(app_changes.update)
app.command("scale")(app_changes.scale)
app.command("events")(app_changes.events)


def _status(app: object, field: str, default: object = "-") -> object:
    status = getattr(app, "status", None)
    return default if status is None else getattr(status, field)


APP_COLUMNS = [
    ("NAME", lambda a: a.name),
    ("PHASE", lambda a: _status(a, "reason") or _status(a, "phase", AppPhase.NOT_DEPLOYED)),
    (
        "BUILD",
        lambda a: f"#{a.latest_build.number} {a.latest_build.phase}" if a.latest_build else "-",
    ),
    ("REVISION", lambda a: f"#{a.serving_build}" if a.serving_build else "-"),
    ("READY", lambda a: f"{_status(a, 'ready', 0)}/{a.replicas}"),
    ("RESTARTS", lambda a: _status(a, "restarts", 0)),
    ("URL", lambda a: a.route.urls[0] if a.route.urls else "no route"),
]
BUILD_COLUMNS = [
    ("BUILD", lambda b: f"#{b.number}"),
    ("PHASE", lambda b: b.phase),
    ("COMMIT", lambda b: (b.commit_sha or "")[:12] or "-"),
    ("TRIGGER", lambda b: b.trigger),
    ("DURATION", lambda b: f"{b.duration_seconds:.1f}s" if b.duration_seconds is not None else "-"),
    ("MESSAGE", lambda b: b.message),
]


def read_env_file(path: Path | None) -> dict[str, str]:
    """``KEY=VALUE`` lines of ``path`` (blank lines and ``#`` comments skipped; the value is
    everything after the first ``=``, as written)."""
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequestError(422, "invalid", f"cannot read {path}: {exc}") from None
    pairs: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            # The line may hold a secret: name its place, never its content.
            raise InvalidRequestError(422, "invalid", f"{path}:{number} is not KEY=VALUE")
        pairs[key.strip()] = value
    return pairs


@app.command("create")
def create(
    git: Annotated[str, typer.Option("--git", help="repository URL")],
    name: Annotated[str | None, typer.Option(help="default: from the repository name")] = None,
    ref: Annotated[str | None, typer.Option(help="branch, tag or commit [HEAD's branch]")] = None,
    context_dir: Annotated[str, typer.Option(help="the project's folder in the repo")] = "",
    source_secret: Annotated[
        str | None, typer.Option(help="credentials for a private repo")
    ] = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", "-e", help="runtime K=V; repeat")
    ] = None,
    build_env: Annotated[list[str] | None, typer.Option(help="build-time K=V; repeat")] = None,
    secret_env: Annotated[
        list[str] | None,
        typer.Option(help="runtime K=V kept secret (replicas only, never shown); repeat"),
    ] = None,
    secret_env_file: Annotated[
        Path | None, typer.Option(help="a file of secret K=V lines (# comments allowed)")
    ] = None,
    replicas: Annotated[int, typer.Option(help="replica processes")] = 1,
    cpu: Annotated[str | None, typer.Option(help="CPU limit per replica: 500m, 1")] = None,
    memory: Annotated[str | None, typer.Option(help="memory limit per replica: 512Mi")] = None,
    label: Annotated[list[str] | None, typer.Option("--label", "-l", help="K=V; repeat")] = None,
    hostname: Annotated[str | None, typer.Option(help="a custom host name for the route")] = None,
    path: Annotated[str | None, typer.Option(help="a path prefix on the app's hosts")] = None,
    path_mode: Annotated[
        str | None,
        typer.Option(help="strip [default]: the app sees / under the prefix; keep: whole paths"),
    ] = None,
    target_port: Annotated[
        int | None, typer.Option(help="the port the app listens on (Wharf assigns it as PORT)")
    ] = None,
    tls: Annotated[
        str | None, typer.Option(help="edge: TLS ends at Wharf (the server must serve https)")
    ] = None,
    insecure_policy: Annotated[
        str | None, typer.Option(help="with --tls: Redirect, Allow or None [None]")
    ] = None,
    no_route: Annotated[bool, typer.Option("--no-route", help="do not expose the app")] = False,
    group: Annotated[
        str | None, typer.Option(help="the application group (system) it belongs to")
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="follow Build #1 until its revision serves")
    ] = False,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Create an app from a git repository and start Build #1."""
    fields = {
        "name": name,
        "ref": ref,
        "context_dir": context_dir,
        "source_secret": source_secret,
        "env": parse_pairs(env, "--env"),
        "build_env": parse_pairs(build_env, "--build-env"),
        "secret_env": {
            **read_env_file(secret_env_file),
            **parse_pairs(secret_env, "--secret-env", secret=True),
        },
        "replicas": replicas,
        "cpu": cpu,
        "memory": memory,
        "labels": parse_pairs(label, "--label"),
        "group": group,
        "route": {
            "enabled": not no_route,
            "hostname": hostname,
            "path": path,
            "path_mode": path_mode,
            "target_port": target_port,
            "tls": tls,
            "insecure_policy": insecure_policy,
        },
    }
    with open_client(workspace) as client:
        created = client.apps.create(git, **fields)
        if output is OutputFormat.json and not wait:
            emit(created, output, APP_COLUMNS)
            return
        print_success(
            f"app {created.name} created from {created.git} ({created.ref}); Build #1 started"
        )
        for warning in created.warnings:
            print_warning(warning)
        if wait:
            _follow(client, created.name, 1, output)


def _follow(client: object, app_name: str, number: int, output: OutputFormat) -> None:
    from wharf.sdk import Client

    assert isinstance(client, Client)
    if output is OutputFormat.table:
        failing = False
        for line in client.builds.logs(app_name, number, follow=True):
            # From the installer's error on, the log can run to megabytes (a failed source
            # build's compiler output); its decisive lines are the build's message, below.
            failing = failing or line.lstrip().startswith(("error:", "\u00d7"))
            if not failing:
                typer.echo(line)
    build = client.builds.wait(app_name, number)
    if build.phase == "Complete":
        # Waiting means serving: until the new revision takes traffic, or never does.
        if output is OutputFormat.table:
            typer.echo(f"Waiting for build #{number}'s revision to serve...")
        build = client.builds.wait(app_name, number, serving=True)
    if output is OutputFormat.json:
        emit(build, output, BUILD_COLUMNS)
    if build.phase is not BuildPhase.COMPLETE:
        print_error(f"Build #{number} {build.phase}: {build.message}")
        if output is OutputFormat.table:
            typer.echo(f"The full log: wharf app build logs {app_name} {number}", err=True)
        raise typer.Exit(1)
    if build.rollout != "Succeeded":
        print_error(build.message)
        raise typer.Exit(1)
    if output is OutputFormat.table:
        urls = client.apps.get(app_name).route.urls
        print_success(f"Build #{number} serves" + (f" at {urls[0]}" if urls else ""))


@app.command("list")
def list_(
    group: Annotated[str | None, typer.Option(help="only apps of this application group")] = None,
    selector: Annotated[
        str | None,
        typer.Option("--selector", "-l", help="labels to match: team=risk,tier!=web,canary"),
    ] = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """List apps with their latest build, serving revision and URL."""
    with open_client(workspace) as client:
        emit(client.apps.list(group=group, label_selector=selector), output, APP_COLUMNS)


@app.command("show")
def show(
    name: str, workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.table
) -> None:
    """Show an app in full: source, revision, replicas with their last exit, env names, limits
    and how they are enforced, labels, group, route URLs and recent events."""
    with open_client(workspace) as client:
        found = client.apps.get(name)
        if output is OutputFormat.json:
            emit(found, output, APP_COLUMNS)
            return
        show_app(found, client.apps.events(name, limit=8))


@app.command("delete")
def delete(name: str, workspace: WorkspaceOption = None) -> None:
    """Delete an app and its builds."""
    with open_client(workspace) as client:
        client.apps.delete(name)
    print_success(f"app {name} deleted")


@app.command("logs")
def app_logs(
    name: str,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep streaming")] = False,
    tail: Annotated[int, typer.Option(help="lines per replica to start with")] = 200,
    workspace: WorkspaceOption = None,
) -> None:
    """Print the output of the app's replicas (its serving revision)."""
    with open_client(workspace) as client:
        for line in client.apps.logs(name, follow=follow, tail=tail):
            typer.echo(line)


@app.command("rollback")
def rollback(
    name: str,
    to: Annotated[
        int | None, typer.Option(help="the build to serve [the Complete one before]")
    ] = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Serve an earlier Complete build again, at once (its environment is still cached)."""
    with open_client(workspace) as client:
        rolled = client.apps.rollback(name, to=to)
    emit_or_confirm(rolled, output, APP_COLUMNS, f"app {name} serves build #{rolled.serving_build}")


@build_app.command("start")
def start(
    app_name: Annotated[str, typer.Argument(metavar="APP")],
    commit: Annotated[str | None, typer.Option(help="build exactly this commit")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="stream the log; wait until it serves")
    ] = False,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Start the next build of APP."""
    with open_client(workspace) as client:
        build = client.builds.start(app_name, commit=commit)
        if follow:
            print_success(f"Build #{build.number} of {app_name} started")
            _follow(client, app_name, build.number, output)
            return
    emit_or_confirm(build, output, BUILD_COLUMNS, f"Build #{build.number} of {app_name} started")


@build_app.command("list")
def list_builds(
    app_name: Annotated[str, typer.Argument(metavar="APP")],
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """List APP's builds, newest first."""
    with open_client(workspace) as client:
        emit(client.builds.list(app_name), output, BUILD_COLUMNS)


@build_app.command("show")
def show_build(
    app_name: Annotated[str, typer.Argument(metavar="APP")],
    number: int,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Show one build."""
    with open_client(workspace) as client:
        emit(client.builds.get(app_name, number), output, BUILD_COLUMNS)


@build_app.command("logs")
def logs(
    app_name: Annotated[str, typer.Argument(metavar="APP")],
    number: int,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="stream until it ends")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Print a build's log."""
    with open_client(workspace) as client:
        for line in client.builds.logs(app_name, number, follow=follow):
            typer.echo(line)


@build_app.command("cancel")
def cancel(
    app_name: Annotated[str, typer.Argument(metavar="APP")],
    number: int,
    workspace: WorkspaceOption = None,
) -> None:
    """Cancel a build."""
    with open_client(workspace) as client:
        build = client.builds.cancel(app_name, number)
    print_success(
        f"Build #{number} of {app_name}: {build.phase}"
        + (" (stopping)" if build.phase is BuildPhase.RUNNING else "")
    )

"""``wharf app update | scale | events``: change an app after create, and see who did what."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from wharf.cli._output import (
    OutputFormat,
    OutputOption,
    WorkspaceOption,
    emit,
    open_client,
    print_error,
    print_success,
)
from wharf.cli.app_show import describe_event
from wharf.schemas.apps import AppUpdateResult
from wharf.sdk import InvalidRequestError

_Pairs = Annotated[list[str] | None, typer.Option(help="K=V; repeat")]
_Names = Annotated[list[str] | None, typer.Option(help="a name to remove; repeat")]


def parse_pairs(values: list[str] | None, what: str, *, secret: bool = False) -> dict[str, str]:
    """``K=V`` flags into a dict; with ``secret``, an error never repeats the flag's value."""
    pairs: dict[str, str] = {}
    for value in values or []:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            shown = "" if secret else f" {value!r} is not"
            raise InvalidRequestError(422, "invalid", f"{what}{shown or ' takes'} KEY=VALUE")
        pairs[key] = rest
    return pairs


def _map_patch(
    set_values: list[str] | None, unset: list[str] | None, what: str
) -> dict[str, str | None] | None:
    patch: dict[str, str | None] = dict(parse_pairs(set_values, what))
    for name in unset or []:
        if name in patch:
            raise InvalidRequestError(422, "invalid", f"{what} {name} is both set and unset")
        patch[name] = None
    return patch or None


def update(
    name: str,
    replicas: Annotated[int | None, typer.Option(help="replica processes")] = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", "-e", help="runtime K=V; repeat")
    ] = None,
    unset_env: _Names = None,
    build_env: _Pairs = None,
    unset_build_env: _Names = None,
    cpu: Annotated[
        str | None, typer.Option(help="CPU limit per replica: 500m, 1; '' removes")
    ] = None,
    memory: Annotated[
        str | None, typer.Option(help="memory limit per replica: 512Mi; '' removes")
    ] = None,
    label: Annotated[list[str] | None, typer.Option("--label", "-l", help="K=V; repeat")] = None,
    unset_label: _Names = None,
    group: Annotated[str | None, typer.Option(help="the application group; '' removes it")] = None,
    ref: Annotated[str | None, typer.Option(help="branch, tag or commit to build next")] = None,
    context_dir: Annotated[str | None, typer.Option(help="the project's folder")] = None,
    source_secret: Annotated[
        str | None, typer.Option(help="credentials for a private repo; '' removes")
    ] = None,
    hostname: Annotated[str | None, typer.Option(help="a custom host name; '' removes")] = None,
    path: Annotated[str | None, typer.Option(help="a path prefix on the app's hosts")] = None,
    path_mode: Annotated[
        str | None, typer.Option(help="strip: the app sees / under the prefix; keep: whole")
    ] = None,
    target_port: Annotated[
        int | None, typer.Option(help="the port the app listens on (0 removes)")
    ] = None,
    tls: Annotated[str | None, typer.Option(help="edge: TLS ends at Wharf; '' removes")] = None,
    insecure_policy: Annotated[
        str | None, typer.Option(help="with --tls: Redirect, Allow or None")
    ] = None,
    route: Annotated[
        bool | None, typer.Option("--route/--no-route", help="expose the app, or not")
    ] = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Change an app. Replicas scale in place; env, limits and target port roll the serving
    build out again with zero downtime; ref, context dir, source secret and build env apply
    to the next build. Everything is checked before anything changes."""
    patch: dict[str, Any] = {}
    if replicas is not None:
        patch["replicas"] = replicas
    for key, values in (
        ("env", _map_patch(env, unset_env, "--env")),
        ("build_env", _map_patch(build_env, unset_build_env, "--build-env")),
        ("labels", _map_patch(label, unset_label, "--label")),
    ):
        if values is not None:
            patch[key] = values
    for key, value in (
        ("cpu", cpu),
        ("memory", memory),
        ("group", group),
        ("ref", ref),
        ("context_dir", context_dir),
        ("source_secret", source_secret),
    ):
        if value is not None:
            patch[key] = value or None  # '' removes the setting
    route_patch: dict[str, Any] = {}
    if route is not None:
        route_patch["enabled"] = route
    for key, given in (
        ("hostname", hostname),
        ("path", path),
        ("path_mode", path_mode),
        ("tls", tls),
        ("insecure_policy", insecure_policy),
    ):
        if given is not None:
            route_patch[key] = given or None
    if target_port is not None:
        route_patch["target_port"] = target_port or None
    if route is False and not route_patch.keys() - {"enabled"}:
        route_patch.update(hostname=None, path=None)  # no route: nothing left to route
    if route_patch:
        patch["route"] = route_patch
    if not patch:
        raise InvalidRequestError(422, "invalid", "nothing to change: give at least one option")
    with open_client(workspace) as client:
        result = client.apps.update(name, **patch)
    _report(result, output)


def scale(
    name: str,
    replicas: Annotated[int, typer.Option(help="replica processes")],
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Run N replicas of the serving revision: new ones take traffic once ready, removed ones
    finish their requests; the others keep running untouched."""
    with open_client(workspace) as client:
        result = client.apps.scale(name, replicas)
    _report(result, output)


def _report(result: AppUpdateResult, output: OutputFormat) -> None:
    if output is OutputFormat.json:
        emit(result, output, [])
    else:
        name = result.app.name
        if not result.changes:
            print_success(f"app {name}: nothing changed")
        for change in result.changes:
            typer.echo(f"  {change.field}: {_value(change.old)} -> {_value(change.new)}")
        if result.changes:
            print_success(f"app {name} updated: {result.summary}")
        if result.rollout.message:
            typer.echo(result.rollout.message)
    if not result.rollout.succeeded:
        print_error(result.rollout.message)
        raise typer.Exit(1)


def _value(value: object) -> str:
    return "(none)" if value is None else str(value)


EVENT_COLUMNS = [
    ("WHEN", lambda e: e.created_at.strftime("%Y-%m-%d %H:%M:%S")),
    ("KIND", lambda e: e.kind),
    ("BY", lambda e: e.actor or "-"),
    ("WHAT", describe_event),
]


def events(
    name: str,
    limit: Annotated[int, typer.Option(help="how many, newest first")] = 50,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Who changed the app, when and what, and how its rollouts went; newest first."""
    with open_client(workspace) as client:
        emit(client.apps.events(name, limit=limit), output, EVENT_COLUMNS)

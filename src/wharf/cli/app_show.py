"""``wharf app show`` for people: everything about one app on one screen."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from wharf.cli._output import console
from wharf.schemas.apps import App, AppEvent


def _status(app: App) -> dict[str, Any]:
    return app.status.model_dump(mode="json") if app.status else {}


def _line(label: str, value: object) -> None:
    console.print(f"[bold]{label + ':':<14}[/bold]{escape(str(value))}", highlight=False)


def _limits(app: App) -> str:
    enforced = _status(app).get("limits") or {}
    parts = []
    for name in ("memory", "cpu"):
        wanted = getattr(app, name)
        if wanted is None:
            parts.append(f"{name} -")
            continue
        how = enforced.get(name)
        if how is None:
            parts.append(f"{name} {wanted} (applies when a revision runs)")
        elif how.get("enforced"):
            parts.append(f"{name} {wanted} (enforced: {how.get('how')})")
        else:
            parts.append(f"{name} {wanted} (NOT enforced: {how.get('how')})")
    return ", ".join(parts)


def _replicas(app: App) -> Table | str:
    replicas = _status(app).get("replicas") or []
    if not replicas:
        return "  none running"
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    for heading in ("REPLICA", "STATE", "PID", "PORT", "RESTARTS", "LAST EXIT"):
        table.add_column(heading)
    for replica in replicas:
        last = replica.get("last_exit")
        exit_text = f"{last['reason']}: {last['message']}" if last else "-"
        table.add_row(
            *(
                Text(str(value if value is not None else "-"))
                for value in (
                    replica.get("index"),
                    replica.get("state"),
                    replica.get("pid"),
                    replica.get("port"),
                    replica.get("restarts"),
                    exit_text,
                )
            )
        )
    return table


def describe_event(event: AppEvent) -> str:
    changed = ", ".join(f"{c.field} {_plain(c.old)} -> {_plain(c.new)}" for c in event.changes)
    return "; ".join(part for part in (changed, event.message) if part)


def _plain(value: object) -> str:
    return "(none)" if value is None else str(value)


def show_app(app: App, events: list[AppEvent]) -> None:
    """Source, revision, replicas with their last exit, env names, limits and how they are
    enforced, labels, group, route URLs and the latest events."""
    status = _status(app)
    _line("App", app.name)
    _line("Group", app.group or "-")
    labels = ", ".join(f"{k}={v}" for k, v in sorted(app.labels.items()))
    _line("Labels", labels or "-")
    source = f"{app.git} @ {app.ref}"
    if app.context_dir:
        source += f" (context dir {app.context_dir})"
    if app.source_secret:
        source += f" (source secret {app.source_secret})"
    _line("Source", source)
    latest = app.latest_build
    if latest is not None:
        commit = f", commit {latest.commit_sha[:12]}" if latest.commit_sha else ""
        _line("Latest build", f"#{latest.number} {latest.phase}{commit}: {latest.message}")
    _line("Revision", f"build #{app.serving_build}" if app.serving_build else "none serves yet")
    phase = status.get("reason") or status.get("phase", "NotDeployed")
    ready = f"{status.get('ready', 0)}/{app.replicas} ready"
    restarts = f"{status.get('restarts', 0)} restarts"
    _line("Phase", f"{phase}, {ready}, {restarts}")
    if status.get("message"):
        _line("Why", status["message"])
    if status.get("last_rollout_failure"):
        _line("Last rollout", status["last_rollout_failure"])
    if status.get("port_note"):
        _line("Port", status["port_note"])
    console.print("[bold]Replicas:[/bold]")
    console.print(_replicas(app))
    _line("Env", ", ".join(sorted(app.env)) or "-")
    _line("Build env", ", ".join(sorted(app.build_env)) or "-")
    _line("Limits", _limits(app))
    route = app.route
    if not route.enabled:
        _line("Route", "none (--no-route)")
    else:
        detail = f"path {route.path} ({route.path_mode})" if route.path else "all paths"
        _line("Route", detail)
        for url in route.urls:
            console.print(f"  {escape(url)}", highlight=False, soft_wrap=True)
    console.print("[bold]Recent events:[/bold]")
    if not events:
        console.print("  none")
    for event in events:
        when = event.created_at.strftime("%Y-%m-%d %H:%M:%S")
        text = f"  {when}  {event.kind:<13} {event.actor or '-':<10} {describe_event(event)}"
        console.print(escape(text), highlight=False, soft_wrap=True)

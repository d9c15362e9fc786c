"""Changing an app after create: a JSON merge patch, validated whole before anything is stored.

A patch is RFC 7396 shaped: a field that is absent stays as it is, ``null`` removes it (a
limit, the group, one env variable or label), a value replaces it. What a change needs before
it takes effect is part of the answer (``Rollout``): replicas scale the serving revision in
place, runtime settings (env, limits, target port) roll the serving build out again, source
settings (ref, context dir, source secret, build env) wait for the next build, and labels,
group and route apply at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from wharf.build.git import check_git_url, choose_ref
from wharf.errors import Invalid
from wharf.runtime.limits import parse_cpu, parse_memory
from wharf.services import app_events
from wharf.services.app_labels import check_group, check_labels
from wharf.services.app_routes import check_route
from wharf.services.apps import (
    MAX_REPLICAS,
    FolderLister,
    RemoteInspector,
    check_context_dir,
    check_env,
    folders_with_credentials,
    inspect_with_credentials,
)
from wharf.services.secrets import SecretBox
from wharf.services.source_secrets import open_source_secret
from wharf.storage.paths import find_path_problem
from wharf.store.models import App, Workspace

PATCHABLE = frozenset(
    {
        "replicas",
        "env",
        "build_env",
        "cpu",
        "memory",
        "labels",
        "group",
        "ref",
        "context_dir",
        "source_secret",
        "route",
    }
)
_ROUTE = frozenset(
    {
        "route.enabled",
        "route.hostname",
        "route.path",
        "route.path_mode",
        "route.tls",
        "route.insecure_policy",
    }
)


class Rollout(StrEnum):
    """What a change needs before it takes effect."""

    NONE = "none"
    """Nothing to do for the replicas: labels, group."""
    SCALE = "scale"
    """Replicas are added or stopped; the others keep running untouched."""
    RESTART = "restart"
    """The serving build rolls out again with the new settings (zero downtime)."""


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class UpdateOutcome:
    """What an update changed and what it still needs."""

    changes: tuple[Change, ...]
    rollout: Rollout
    route_changed: bool
    next_build: bool
    """Source settings changed: they apply to the next build, not to what serves now."""


def _merge_map(kind: str, current: Mapping[str, Any], patch: Any) -> dict[str, Any]:
    if not isinstance(patch, Mapping):
        raise Invalid(f"{kind} must be an object of names to values (null removes one)")
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif not isinstance(value, str | int | float) or isinstance(value, bool):
            raise Invalid(f"{kind} {key!r} must be a string, or null to remove it")
        else:
            merged[key] = str(value)
    return merged


def _map_changes(prefix: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    return [
        Change(f"{prefix}.{key}", old.get(key), new.get(key))
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def plan_update(
    session: Session,
    workspace: Workspace,
    app: App,
    patch: Mapping[str, Any],
    *,
    secrets: SecretBox,
    inspect: RemoteInspector = inspect_with_credentials,
    folders: FolderLister = folders_with_credentials,
    serves_https: bool = False,
) -> tuple[dict[str, Any], list[Change]]:
    """Validate ``patch`` against ``app``: the new stored values and the changes, or
    ``Invalid`` naming the first wrong field. Nothing is stored."""
    unknown = sorted(set(patch) - PATCHABLE)
    if unknown:
        raise Invalid(
            f"cannot change {', '.join(unknown)}: an app's changeable fields are "
            + ", ".join(sorted(PATCHABLE)),
            field=unknown[0],
        )
    new: dict[str, Any] = {}
    changes: list[Change] = []
    if "replicas" in patch:
        replicas = patch["replicas"]
        if not isinstance(replicas, int) or isinstance(replicas, bool):
            raise Invalid("replicas must be a whole number", field="replicas")
        if not 0 <= replicas <= MAX_REPLICAS:
            raise Invalid(f"replicas must be between 0 and {MAX_REPLICAS}", field="replicas")
        new["replicas"] = replicas
    for name, column in (("env", "runtime_env"), ("build_env", "build_env")):
        if name in patch:
            kind = "runtime env" if name == "env" else "build env"
            merged = check_env(kind, _merge_map(kind, getattr(app, column), patch[name]))
            new[column] = merged
            changes += _map_changes(name, getattr(app, column), merged)
    for name, parse in (("cpu", parse_cpu), ("memory", parse_memory)):
        if name in patch:
            value = patch[name]
            if value is not None:
                value = str(value)
                parse(value)
            new[name] = value
    if "labels" in patch:
        merged = check_labels(_merge_map("label", app.labels, patch["labels"]))
        new["labels"] = merged
        changes += _map_changes("labels", app.labels, merged)
    if "group" in patch:
        new["group"] = check_group(patch["group"])
    if "context_dir" in patch:
        context_dir = str(patch["context_dir"] or "").strip("/")
        problem = find_path_problem(context_dir)
        if problem:
            raise Invalid(
                f"context dir {context_dir!r} is not valid: {problem}", field="context_dir"
            )
        new["context_dir"] = context_dir
    if {"source_secret", "ref", "context_dir"} & set(patch):
        secret = patch.get("source_secret", app.source_secret)
        credentials = open_source_secret(session, secrets, workspace, secret)
        new["source_secret"] = secret
        ref = app.git_ref
        # The stored URL passed the create-time rules; its builds check it again.
        url = check_git_url(app.git_url, allow_local=True)
        if "ref" in patch or secret != app.source_secret:
            # Read the remote now, with the credentials it will be built with.
            info = inspect(url, credentials)
            ref = new["git_ref"] = choose_ref(app.git_url, info, patch.get("ref") or ref)
        if new.get("context_dir"):
            check_context_dir(url, ref, new["context_dir"], credentials, folders)
    if "route" in patch:
        route_patch = patch["route"]
        if not isinstance(route_patch, Mapping):
            raise Invalid("route must be an object", field="route")
        merged_route = {**app.route}
        for key, value in route_patch.items():
            if value is None:
                merged_route.pop(key, None)
            else:
                merged_route[key] = value
        new["route"] = check_route(merged_route, given=set(route_patch), serves_https=serves_https)
        changes += _map_changes("route", check_route(app.route), new["route"])
    for column, label in (
        ("replicas", "replicas"),
        ("cpu", "cpu"),
        ("memory", "memory"),
        ("group", "group"),
        ("git_ref", "ref"),
        ("context_dir", "context_dir"),
        ("source_secret", "source_secret"),
    ):
        if column in new and new[column] != getattr(app, column):
            changes.append(Change(label, getattr(app, column), new[column]))
    return new, changes


def update_app(
    session: Session,
    workspace: Workspace,
    app: App,
    patch: Mapping[str, Any],
    *,
    actor: str | None,
    secrets: SecretBox,
    inspect: RemoteInspector = inspect_with_credentials,
    serves_https: bool = False,
) -> UpdateOutcome:
    """Apply a merge patch to ``app`` and record it in the app's events. The caller rolls
    the replicas as ``UpdateOutcome.rollout`` says, once the transaction has committed."""
    new, changes = plan_update(
        session, workspace, app, patch, secrets=secrets, inspect=inspect, serves_https=serves_https
    )
    for column, value in new.items():
        setattr(app, column, value)
    outcome = describe_outcome(changes)
    if changes:
        kind = "Scaled" if {c.field for c in changes} == {"replicas"} else "Updated"
        app_events.record_event(
            session, app, kind, actor=actor, changes=changes, message=summarise(outcome)
        )
    session.flush()
    return outcome


def describe_outcome(changes: list[Change]) -> UpdateOutcome:
    fields = {change.field for change in changes}
    heads = {field.split(".", 1)[0] for field in fields}
    runtime = bool(heads & {"env", "cpu", "memory"} or "route.target_port" in fields)
    rollout = (
        Rollout.RESTART if runtime else Rollout.SCALE if "replicas" in fields else Rollout.NONE
    )
    return UpdateOutcome(
        changes=tuple(changes),
        rollout=rollout,
        route_changed=bool(fields & _ROUTE),
        next_build=bool(heads & {"build_env", "ref", "context_dir", "source_secret"}),
    )


def summarise(outcome: UpdateOutcome) -> str:
    """One sentence on what the change does, for the event list and the CLI."""
    if not outcome.changes:
        return "nothing changed"
    parts = []
    if outcome.rollout is Rollout.RESTART:
        parts.append("the serving build rolls out again with the new settings")
    elif outcome.rollout is Rollout.SCALE:
        parts.append("replicas are added or stopped; the others keep running")
    if outcome.route_changed:
        parts.append("the route changed at once")
    if outcome.next_build:
        parts.append("source settings apply to the next build")
    return "; ".join(parts) or "applied at once"

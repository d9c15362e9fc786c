"""Notebook workbenches: one user's JupyterLab in one workspace — the records and their rules.

A workbench belongs to the user who created it; nobody else sees it, starts it or reaches it
(not even a workspace owner). Its own Wharf token (``WHARF_TOKEN`` inside it) is made with it
and revoked when it is deleted. The process itself is :mod:`wharf.services.workbench_runtime`'s.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from wharf.config import Settings
from wharf.errors import Conflict, Invalid, NotFound
from wharf.runtime.limits import ResourceLimits
from wharf.services import source_secrets, tokens, users, workspaces
from wharf.services.naming import check_dns_label
from wharf.services.secrets import SecretBox
from wharf.states import WorkbenchPhase
from wharf.store.models import Membership, Token, User, Workbench, Workspace
from wharf.store.types import utcnow

MAX_REQUIREMENTS = 64 * 1024
_NOT_IN_HOSTNAME = re.compile(r"[^a-z0-9-]")


@dataclass(frozen=True)
class WorkbenchSpec:
    """What a user asks for when creating a workbench."""

    name: str
    requirements: str = ""
    cpu: str | None = None
    memory: str | None = None
    idle_timeout: str | None = None
    """A duration (``2h``, ``30m``, ``90s``) or None/``never``: never culled."""
    source_secret: str | None = None


def parse_idle_timeout(text: str | None) -> int | None:
    """Seconds, or None for never (``2h``, ``30m``, ``45s``, ``never``)."""
    if text is None or text.strip() in ("", "never", "0"):
        return None
    try:
        lifetime = tokens.parse_lifetime(text, 0)
    except Invalid:
        raise Invalid(
            f"idle timeout {text!r} is not a duration: use a number and a unit such as 2h, "
            "30m or 90s, or 'never'",
            field="idle_timeout",
        ) from None
    assert lifetime is not None
    return int(lifetime.total_seconds())


def describe_idle_timeout(seconds: int | None) -> str:
    """``2h``, ``30m``, ``45s`` or ``never``: how a timeout is shown."""
    if seconds is None:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def hostname_label(user: str, name: str, workspace: str) -> str:
    """``nb-{user}-{name}-{ws}``: the first label of the workbench's own origin."""
    return _NOT_IN_HOSTNAME.sub("-", f"nb-{user}-{name}-{workspace}".lower())


def create_workbench(
    session: Session, box: SecretBox, workspace: Workspace, user: User, spec: WorkbenchSpec
) -> Workbench:
    """A new, stopped workbench with its own token (sealed; it reaches only the process)."""
    check_dns_label("workbench", spec.name)
    if len(hostname_label(user.name, spec.name, workspace.name)) > 63:
        raise Invalid(
            f"workbench name {spec.name!r} is too long: 'nb-{user.name}-{spec.name}-"
            f"{workspace.name}' must fit in 63 characters",
            field="name",
        )
    if len(spec.requirements) > MAX_REQUIREMENTS:
        raise Invalid("requirements are larger than 64 KiB", field="requirements")
    ResourceLimits.parse(memory=spec.memory, cpu=spec.cpu)  # Invalid names the bad one
    idle = parse_idle_timeout(spec.idle_timeout)
    if spec.source_secret is not None:
        source_secrets.read_source_secret(session, workspace, spec.source_secret)
    if _find(session, workspace, user, spec.name) is not None:
        raise Conflict(f"you already have a workbench named {spec.name!r} in {workspace.name!r}")
    token, plaintext = tokens.create_token(
        session, user, name=f"workbench {workspace.name}/{spec.name}", lifetime=None
    )
    workbench = Workbench(
        workspace_id=workspace.id,
        user_id=user.id,
        name=spec.name,
        requirements=spec.requirements,
        cpu=spec.cpu,
        memory=spec.memory,
        idle_timeout_seconds=idle,
        source_secret=spec.source_secret,
        phase=WorkbenchPhase.STOPPED,
        message="created; start it with 'wharf notebook start'",
        token_id=token.id,
        sealed_token=box.encrypt(plaintext),
    )
    session.add(workbench)
    session.flush()
    return workbench


def create_own_workbench(
    session: Session, box: SecretBox, workspace_name: str, user_id: int, spec: WorkbenchSpec
) -> Workbench:
    """A new workbench of the caller's in the named workspace."""
    workspace = workspaces.read_workspace(session, workspace_name)
    user = users.read_user_by_id(session, user_id)
    return create_workbench(session, box, workspace, user, spec)


def _find(session: Session, workspace: Workspace, user: User, name: str) -> Workbench | None:
    return session.scalar(
        select(Workbench).where(
            Workbench.workspace_id == workspace.id,
            Workbench.user_id == user.id,
            Workbench.name == name,
        )
    )


def read_workbench(session: Session, workspace: Workspace, user: User, name: str) -> Workbench:
    """The user's own workbench ``name``; another user's is as good as absent."""
    workbench = _find(session, workspace, user, name)
    if workbench is None:
        raise NotFound(f"you have no workbench named {name!r} in workspace {workspace.name!r}")
    return workbench


def read_own_workbench(session: Session, workspace_name: str, user_id: int, name: str) -> Workbench:
    """The caller's workbench ``name`` in the named workspace (NotFound for anyone else's)."""
    workspace = workspaces.read_workspace(session, workspace_name)
    return read_workbench(session, workspace, users.read_user_by_id(session, user_id), name)


def may_enter(session: Session, workbench_id: int, user_id: int, *, owners_too: bool) -> bool:
    """Whether ``user_id`` may reach the workbench: its user, and (``owners_too``) the owners
    of its workspace."""
    workbench = session.get(Workbench, workbench_id)
    if workbench is None:
        return False
    if workbench.user_id == user_id:
        return True
    if not owners_too:
        return False
    role = session.scalar(
        select(Membership.role).where(
            Membership.workspace_id == workbench.workspace_id, Membership.user_id == user_id
        )
    )
    return role == "owner"


def read_by_id(session: Session, workbench_id: int) -> Workbench:
    workbench = session.get(Workbench, workbench_id)
    if workbench is None:
        raise NotFound("the workbench was deleted meanwhile")
    return workbench


def list_own_workbenches(session: Session, workspace_name: str, user_id: int) -> list[Workbench]:
    workspace = workspaces.read_workspace(session, workspace_name)
    return list_workbenches(session, workspace, users.read_user_by_id(session, user_id))


def list_workbenches(session: Session, workspace: Workspace, user: User) -> list[Workbench]:
    """The user's workbenches in the workspace, by name."""
    return list(
        session.scalars(
            select(Workbench)
            .where(Workbench.workspace_id == workspace.id, Workbench.user_id == user.id)
            .order_by(Workbench.name)
        )
    )


def list_active(session: Session) -> list[Workbench]:
    """Every workbench that runs or is starting, on any workspace."""
    active = [WorkbenchPhase.STARTING, WorkbenchPhase.RUNNING, WorkbenchPhase.STOPPING]
    return list(session.scalars(select(Workbench).where(Workbench.phase.in_(active))))


def delete_workbench(session: Session, settings: Settings, workbench: Workbench) -> None:
    """Forget the workbench, revoke its token and remove its home folder (stop it first)."""
    if WorkbenchPhase(workbench.phase).active:
        raise Conflict(f"workbench {workbench.name!r} is {workbench.phase}: stop it first")
    if workbench.token_id is not None:
        token = session.get(Token, workbench.token_id)
        if token is not None and token.revoked_at is None:
            token.revoked_at = utcnow()
    folder = workbench_dir(settings, workbench)
    session.delete(workbench)
    session.flush()
    shutil.rmtree(folder, ignore_errors=True)


def workbench_dir(settings: Settings, workbench: Workbench) -> Path:
    """``<data-dir>/workbenches/<ws>/<user>/<name>``: its home and its tools."""
    return (
        settings.data_dir
        / "workbenches"
        / workbench.workspace.name
        / workbench.user.name
        / workbench.name
    )


def home_dir(settings: Settings, workbench: Workbench) -> Path:
    """The workbench's home folder: the user's files, kept across stop and start."""
    return workbench_dir(settings, workbench) / "home"


def open_token(box: SecretBox, workbench: Workbench) -> str:
    """The workbench's own Wharf token, for its process's environment only."""
    if workbench.sealed_token is None:
        raise Conflict(f"workbench {workbench.name!r} has no token: delete and create it again")
    return box.decrypt(workbench.sealed_token)


def mark_phase(workbench: Workbench, phase: WorkbenchPhase, message: str) -> None:
    """Record a change of state, and when it started or stopped."""
    workbench.phase = phase
    workbench.message = message
    if phase is WorkbenchPhase.RUNNING:
        workbench.started_at = utcnow()
    elif phase in (WorkbenchPhase.STOPPED, WorkbenchPhase.FAILED):
        workbench.stopped_at = utcnow()


def culled_message(idle_seconds: int) -> str:
    return f"culled after {describe_idle_timeout(idle_seconds)} idle"

"""Builds: numbered per app, moving through the phases of :class:`~wharf.states.BuildPhase`
(Pending → Running → Complete, Failed, Error or Cancelled). Two builds of one app never run
at once.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from wharf.build.git import check_git_revision
from wharf.config import Settings
from wharf.errors import Conflict, NotFound
from wharf.states import BuildPhase
from wharf.store.models import App, Build
from wharf.store.types import utcnow


def start_build(
    session: Session,
    app: App,
    *,
    trigger: str,
    created_by: str | None,
    commit: str | None = None,
) -> Build:
    """Queue the app's next numbered build of its ref (or of exactly ``commit``)."""
    if commit is not None:
        check_git_revision(commit, field="commit")
    number = (
        session.execute(
            update(App)
            .where(App.id == app.id)
            .values(next_build=App.next_build + 1)
            .returning(App.next_build)
        ).scalar_one()
        - 1
    )
    build = Build(
        app_id=app.id,
        number=number,
        phase=BuildPhase.PENDING,
        trigger=trigger,
        git_ref=app.git_ref,
        commit_sha=commit,
        created_by=created_by,
    )
    session.add(build)
    session.flush()
    return build


def lock_app(session: Session, app: App) -> None:
    """Hold the app's row until the transaction ends, so that callers deciding whether to
    queue a build for it take turns (a row lock on PostgreSQL, the write lock on SQLite)."""
    session.execute(update(App).where(App.id == app.id).values(next_build=App.next_build))


def queue_commit_build(
    session: Session, app: App, commit: str | None, *, trigger: str, created_by: str | None
) -> tuple[Build, bool]:
    """Queue a build of ``commit`` (None: the ref's tip) unless one is waiting already; a
    waiting build is pointed at ``commit`` instead. Returns the build and whether it was one
    that was waiting. Call with the app locked (:func:`lock_app`)."""
    waiting = session.scalars(
        select(Build)
        .where(Build.app_id == app.id, Build.phase == BuildPhase.PENDING)
        .order_by(Build.number.desc())
    ).first()
    if waiting is not None:
        # Only while it still waits: a build claimed meanwhile has read its commit already.
        moved = session.execute(
            update(Build)
            .where(Build.id == waiting.id, Build.phase == BuildPhase.PENDING)
            .values(commit_sha=commit, trigger=trigger)
        )
        if moved.rowcount == 1:  # type: ignore[attr-defined]
            session.refresh(waiting)
            return waiting, True
    return start_build(session, app, trigger=trigger, created_by=created_by, commit=commit), False


def read_build(session: Session, app: App, number: int) -> Build:
    build = session.scalar(select(Build).where(Build.app_id == app.id, Build.number == number))
    if build is None:
        raise NotFound(f"app {app.name!r} has no build #{number}")
    return build


def list_builds(session: Session, app: App, *, phase: BuildPhase | None = None) -> list[Build]:
    """The app's builds (in ``phase`` only, when given), newest first."""
    query = select(Build).where(Build.app_id == app.id).order_by(Build.number.desc())
    if phase is not None:
        query = query.where(Build.phase == phase)
    return list(session.scalars(query))


def rebuild(session: Session, app: App, number: int, *, created_by: str | None) -> Build:
    """A new build of the same commit as build ``number`` (of its ref's tip when that build
    never read one)."""
    earlier = read_build(session, app, number)
    return start_build(
        session, app, trigger="rebuild", created_by=created_by, commit=earlier.commit_sha
    )


def latest_build(session: Session, app: App) -> Build | None:
    return session.scalar(
        select(Build).where(Build.app_id == app.id).order_by(Build.number.desc()).limit(1)
    )


def latest_builds(session: Session, apps: list[App]) -> dict[int, Build]:
    """Each app's latest build (by app id), in one query; apps without builds are absent."""
    if not apps:
        return {}
    newest = (
        select(Build.app_id, func.max(Build.number).label("number"))
        .where(Build.app_id.in_([app.id for app in apps]))
        .group_by(Build.app_id)
        .subquery()
    )
    found = session.scalars(
        select(Build).join(
            newest, and_(Build.app_id == newest.c.app_id, Build.number == newest.c.number)
        )
    )
    return {build.app_id: build for build in found}


def build_has_ended(session: Session, build_id: int) -> bool:
    """Whether the build is in a final phase (or gone with its app)."""
    build = session.get(Build, build_id)
    return build is None or BuildPhase(build.phase).ended


def claim_next_build(session: Session) -> Build | None:
    """Move the oldest Pending build whose app has nothing Running to Running, and return it.

    The compare-and-set on the phase makes the claim safe when several workers look at once.
    """
    running = aliased(Build)
    candidates = session.scalars(
        select(Build)
        .where(
            Build.phase == BuildPhase.PENDING,
            ~exists().where(
                and_(running.app_id == Build.app_id, running.phase == BuildPhase.RUNNING)
            ),
        )
        .order_by(Build.id)
        .limit(5)
    ).all()
    for build in candidates:
        claimed = session.execute(
            update(Build)
            .where(Build.id == build.id, Build.phase == BuildPhase.PENDING)
            .values(phase=BuildPhase.RUNNING, started_at=utcnow())
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            session.refresh(build)
            return build
    return None


def finish_build(session: Session, build: Build, phase: BuildPhase, message: str) -> Build:
    """Record how a build ended."""
    if not phase.ended:
        raise ValueError(f"{phase} is not a final phase")
    build.phase = phase
    build.message = message
    build.finished_at = utcnow()
    session.flush()
    return build


def cancel_build(session: Session, app: App, number: int) -> Build:
    """Cancel a Pending build at once; ask a Running one to stop (its worker ends it)."""
    build = read_build(session, app, number)
    if BuildPhase(build.phase).ended:
        raise Conflict(f"build #{number} of {app.name!r} is already {build.phase}")
    if build.phase == BuildPhase.RUNNING:
        build.cancel_requested = True
        session.flush()
        return build
    return finish_build(session, build, BuildPhase.CANCELLED, "cancelled before it started")


def recover_interrupted_builds(session: Session) -> int:
    """Builds left Running by a server that stopped become Error; returns how many."""
    result = session.execute(
        update(Build)
        .where(Build.phase == BuildPhase.RUNNING)
        .values(
            phase=BuildPhase.ERROR,
            message="the server stopped while this build ran; start another build",
            finished_at=utcnow(),
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def build_log_path(settings: Settings, workspace: str, app: str, number: int) -> Path:
    """Where a build's log is written."""
    return settings.logs_dir / "builds" / workspace / app / f"{number}.log"


def build_source_dir(settings: Settings, workspace: str, app: str, number: int) -> Path:
    """Where a build's checked-out source lives (replicas of its revision run from there)."""
    return settings.builds_dir / workspace / app / str(number)

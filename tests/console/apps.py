"""Apps with builds in known phases, for console page tests (the build runner is stopped:
builds end as the test says, with the log the test writes)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.conftest import Server
from tests.gitrepos import make_repo
from wharf.services import apps, builds, workspaces
from wharf.states import BuildPhase


def model_app(server: Server, tmp_path: Path, name: str = "model", **options: object) -> Path:
    """App ``name`` from a real repository; its Build #1 is cancelled. Returns the repo."""
    server.platform.build_runner.stop()
    repo = tmp_path / f"repo-{name}"
    make_repo(repo, {"requirements.txt": "\n", "wsgi.py": "application = None\n"})
    with server.client() as admin:
        admin.apps.create(repo.as_uri(), name=name, **options)  # type: ignore[arg-type]
        admin.builds.cancel(name, 1)
    return repo


def add_build(server: Server, app: str, phase: BuildPhase, message: str = "", log: str = "") -> int:
    """A build of ``app`` that ended in ``phase`` with ``message`` and ``log``."""
    settings = server.platform.settings
    with server.platform.transaction() as session:
        found = apps.read_app(session, workspaces.read_workspace(session, "default"), app)
        build = builds.start_build(session, found, trigger="manual", created_by="admin")
        build.commit_sha = "a" * 40
        if phase.ended:
            build.created_at -= timedelta(minutes=10)
            build.started_at = build.created_at
            builds.finish_build(session, build, phase, message)
            build.finished_at = build.created_at + timedelta(seconds=75)
        else:
            build.phase = phase
        number = build.number
    path = builds.build_log_path(settings, "default", app, number)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(log)
    return number

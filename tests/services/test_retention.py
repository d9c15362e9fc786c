"""Housekeeping: build folders outside the retention window go, the serving build's stays;
environments nothing uses for the retention period go, never one a kept build names."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.conftest import Server
from tests.gitrepos import commit_files, make_repo
from wharf.build.environments import LAST_USED_FILE
from wharf.services import apps, builds, retention, workspaces
from wharf.states import BuildPhase
from wharf.store.models import Build
from wharf.workers.builds import run_build

DAY = 86400.0


def run_next_build(server: Server) -> Build:
    with server.platform.transaction() as session:
        claimed = builds.claim_next_build(session)
        assert claimed is not None
        build_id = claimed.id
    run_build(server.platform, build_id)
    with server.platform.transaction() as session:
        build = session.get(Build, build_id)
        assert build is not None
        session.expunge(build)
        return build


@pytest.fixture
def three_builds(server: Server, tmp_path: Path) -> list[Build]:
    """App ``hello`` with builds #1..#3 Complete (#1 serves), code-only changes."""
    server.platform.build_runner.stop()
    repo = tmp_path / "hello"
    make_repo(repo, {"requirements.txt": "\n", "app.py": "print('hi')\n"})
    with server.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, "default")
        apps.create_app(
            session,
            workspace,
            apps.AppSpec(git_url=repo.as_uri(), name="hello"),
            created_by="admin",
            secrets=server.platform.secrets,
        )
    done = [run_next_build(server)]
    for version in (2, 3):
        commit_files(repo, {"app.py": f"print('v{version}')\n"}, "next")
        with server.platform.transaction() as session:
            app = apps.read_app(session, workspaces.read_workspace(session, "default"), "hello")
            app.serving_build = 1
            builds.start_build(session, app, trigger="manual", created_by="admin")
        done.append(run_next_build(server))
    assert [b.phase for b in done] == [BuildPhase.COMPLETE] * 3
    return done


def folder(server: Server, number: int) -> Path:
    return builds.build_source_dir(server.platform.settings, "default", "hello", number)


def test_old_build_folders_go_but_the_serving_one_stays(
    server: Server, three_builds: list[Build]
) -> None:
    server.platform.settings.build_retention = 1
    report = retention.apply_retention(server.platform)
    assert report.build_folders == [folder(server, 2)]
    assert folder(server, 1).is_dir()  # serving
    assert folder(server, 3).is_dir()  # the newest
    assert retention.apply_retention(server.platform).build_folders == []


def test_unused_environments_go_after_the_retention_and_never_a_kept_builds(
    server: Server, three_builds: list[Build]
) -> None:
    settings = server.platform.settings
    first_env = three_builds[0].environment_key
    assert first_env is not None
    # Build #3 as if its requirements had differed: an environment of its own.
    other_env = "env-of-build-3"
    (settings.envs_dir / other_env).mkdir()
    (settings.envs_dir / other_env / LAST_USED_FILE).touch()
    with server.platform.transaction() as session:
        app = apps.read_app(session, workspaces.read_workspace(session, "default"), "hello")
        builds.read_build(session, app, 3).environment_key = other_env
    orphan = settings.envs_dir / "orphan-env"
    orphan.mkdir()
    (orphan / LAST_USED_FILE).touch()
    now = time.time()
    assert retention.apply_retention(server.platform, now=now).environments == []
    later = now + 31 * DAY
    assert retention.apply_retention(server.platform, now=later).environments == ["orphan-env"]
    assert not orphan.exists()

    # Build #3 is no longer kept (and #1 serves): its environment goes once unused.
    settings.build_retention = 1
    with server.platform.transaction() as session:
        app = apps.read_app(session, workspaces.read_workspace(session, "default"), "hello")
        builds.start_build(session, app, trigger="manual", created_by="admin")
    run_next_build(server)  # #4 reuses #1's environment
    os.utime(settings.envs_dir / other_env / LAST_USED_FILE, (now, now))
    report = retention.apply_retention(server.platform, now=later)
    assert report.environments == [other_env]
    assert (settings.envs_dir / first_env).is_dir()
    assert [p.name for p in settings.envs_dir.iterdir() if p.name.startswith(".removing")] == []

"""Topology's listing in the domain core: apps found, counted and paged by the database, and
each one's latest build in one query."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Server
from tests.gitrepos import make_repo
from wharf.services import apps, builds, workspaces
from wharf.store.models import App


def test_apps_are_found_by_name_counted_and_paged_with_their_latest_builds(
    server: Server, tmp_path: Path
) -> None:
    server.platform.build_runner.stop()
    repo = tmp_path / "repo"
    make_repo(repo, {"requirements.txt": "\n", "wsgi.py": "application = None\n"})
    with server.platform.transaction() as session:
        ws = workspaces.read_workspace(session, "default")
        for number in range(30):
            spec = apps.AppSpec(git_url=repo.as_uri(), name=f"app-{number:02d}")
            apps.create_app(session, ws, spec, created_by="admin", secrets=server.platform.secrets)
        app_07 = apps.read_app(session, ws, "app-07")
        builds.start_build(session, app_07, trigger="manual", created_by="admin")
    with server.platform.transaction() as session:
        ws = workspaces.read_workspace(session, "default")
        first = apps.find_apps(session, ws, offset=0, limit=25)
        assert first.total == 30
        assert [a.name for a in first.apps] == [f"app-{n:02d}" for n in range(25)]
        last = apps.find_apps(session, ws, offset=25, limit=25)
        assert [a.name for a in last.apps] == [f"app-{n:02d}" for n in range(25, 30)]
        found = apps.find_apps(session, ws, " APP-2 ", offset=0, limit=25)
        assert found.total == 10
        assert [a.name for a in found.apps] == [f"app-{n}" for n in range(20, 30)]
        assert apps.find_apps(session, ws, "%", offset=0, limit=25).total == 0
        assert apps.find_apps(session, ws, "app_0", offset=0, limit=25).total == 0
        latest = builds.latest_builds(session, first.apps)
        assert {app.id for app in first.apps} == set(latest)
        by_name = {app.name: latest[app.id].number for app in first.apps}
        assert by_name["app-07"] == 2
        assert by_name["app-00"] == 1
        assert builds.latest_builds(session, []) == {}
        assert isinstance(first.apps[0], App)

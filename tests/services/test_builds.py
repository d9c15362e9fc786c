"""Apps and builds in the domain core, with real git repositories and real environments."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Server
from tests.gitrepos import commit_files, git, make_repo
from wharf.errors import Conflict, Invalid
from wharf.services import apps, builds, workspaces
from wharf.states import BuildPhase
from wharf.store.models import Build
from wharf.workers.builds import run_build

APP_PY = """\
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello")

HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "hello-app"
    return path, make_repo(path, {"requirements.txt": "\n", "app.py": APP_PY})


def create(server: Server, url: str, **fields: object) -> tuple[str, int]:
    """Create an app; its builds are the test's to claim and run (``claim_and_run``): the
    server's own runner, which looks for work every second, is stopped first."""
    server.platform.build_runner.stop()
    with server.platform.transaction() as session:
        ws = workspaces.read_workspace(session, "default")
        app, build = apps.create_app(
            session,
            ws,
            apps.AppSpec(git_url=url, **fields),
            created_by="admin",  # type: ignore[arg-type]
            secrets=server.platform.secrets,
        )
        return app.name, build.number


def claim_and_run(server: Server) -> Build:
    with server.platform.transaction() as session:
        claimed = builds.claim_next_build(session)
        assert claimed is not None
        build_id = claimed.id
    run_build(server.platform, build_id)
    with server.platform.transaction() as session:
        build = session.get(Build, build_id)
        assert build is not None
        return build


def read_log(server: Server, app: str, number: int) -> str:
    return builds.build_log_path(server.platform.settings, "default", app, number).read_text()


def test_create_uses_the_default_branch_and_queues_build_1(
    server: Server, repo: tuple[Path, str]
) -> None:
    name, number = create(server, repo[1])
    assert (name, number) == ("hello-app", 1)
    with server.platform.transaction() as session:
        app = apps.read_app(session, workspaces.read_workspace(session, "default"), name)
        assert app.git_ref == "trunk"
        assert builds.list_builds(session, app)[0].phase == BuildPhase.PENDING


def test_a_build_completes_and_a_code_only_change_reuses_the_environment(
    server: Server, repo: tuple[Path, str]
) -> None:
    path, url = repo
    name, _ = create(server, url)
    first = claim_and_run(server)
    assert first.phase == BuildPhase.COMPLETE, read_log(server, name, 1)
    assert first.message == "Build #1 is complete"
    assert first.commit_sha is not None
    assert len(first.commit_sha) == 40
    assert first.run_summary == "python app.py"
    assert "Build #1 is complete" in read_log(server, name, 1)
    sha = commit_files(path, {"app.py": APP_PY.replace("hello", "hello again")}, "code only")
    with server.platform.transaction() as session:
        app = apps.read_app(session, workspaces.read_workspace(session, "default"), name)
        builds.start_build(session, app, trigger="manual", created_by="admin")
    second = claim_and_run(server)
    assert (second.number, second.phase, second.commit_sha) == (2, BuildPhase.COMPLETE, sha)
    assert second.environment_reused
    assert second.environment_key == first.environment_key


def test_a_build_of_an_exact_commit(server: Server, repo: tuple[Path, str]) -> None:
    path, url = repo
    name, _ = create(server, url)
    old = claim_and_run(server).commit_sha
    commit_files(path, {"app.py": APP_PY + "\n# newer\n"}, "newer")
    with server.platform.transaction() as session:
        app = apps.read_app(session, workspaces.read_workspace(session, "default"), name)
        builds.start_build(session, app, trigger="manual", created_by="admin", commit=old)
    assert claim_and_run(server).commit_sha == old


def test_nothing_to_build_says_what_was_looked_for(server: Server, tmp_path: Path) -> None:
    url = make_repo(tmp_path / "docs-only", {"README.md": "# just docs\n"})
    name, _ = create(server, url)
    failed = claim_and_run(server)
    assert failed.phase == BuildPhase.FAILED
    assert "requirements.txt" in failed.message
    assert "pyproject.toml" in failed.message
    assert failed.message in read_log(server, name, 1)


def test_a_missing_context_dir_fails_the_build(server: Server, repo: tuple[Path, str]) -> None:
    # Create checks the folder at the branch's tip; a build of a commit checks it again.
    commit = git(repo[0], "rev-parse", "HEAD")
    create(server, repo[1], context_dir="service", ref=commit)
    failed = claim_and_run(server)
    assert failed.phase == BuildPhase.FAILED
    assert "context dir 'service' does not exist" in failed.message


@pytest.mark.parametrize(
    ("url", "fields", "message"),
    [
        ("file:///nowhere/repo.git", {}, "cannot read the git repository"),
        (None, {"ref": "release-9"}, "ref 'release-9' does not exist"),
        (None, {"name": "Bad_Name"}, "app name 'Bad_Name' is not valid"),
        (None, {"memory": "lots"}, "lots"),
        (None, {"replicas": 99}, "replicas must be between 0 and 20"),
        (None, {"runtime_env": {"1X": "y"}}, "variable name '1X' is not valid"),
        (None, {"context_dir": "../up"}, "'..'"),
    ],
)
def test_bad_apps_are_refused_before_anything_is_created(
    server: Server, repo: tuple[Path, str], url: str | None, fields: dict[str, object], message: str
) -> None:
    with pytest.raises(Invalid, match=message):
        create(server, url or repo[1], **fields)
    with server.platform.transaction() as session:
        assert apps.list_apps(session, workspaces.read_workspace(session, "default")) == []


def test_two_builds_of_one_app_never_run_at_once(server: Server, repo: tuple[Path, str]) -> None:
    name, _ = create(server, repo[1])
    with server.platform.transaction() as session:
        app = apps.read_app(session, workspaces.read_workspace(session, "default"), name)
        builds.start_build(session, app, trigger="manual", created_by="admin")
        assert builds.claim_next_build(session) is not None
        assert builds.claim_next_build(session) is None, "build #2 waits for build #1"
    with pytest.raises(Conflict, match="already exists"):
        create(server, repo[1])


def test_cancel_a_pending_build(server: Server, repo: tuple[Path, str]) -> None:
    name, _ = create(server, repo[1])
    with server.platform.transaction() as session:
        app = apps.read_app(session, workspaces.read_workspace(session, "default"), name)
        assert builds.cancel_build(session, app, 1).phase == BuildPhase.CANCELLED
        with pytest.raises(Conflict, match="already Cancelled"):
            builds.cancel_build(session, app, 1)
        assert builds.claim_next_build(session) is None


def test_derived_names() -> None:
    assert apps.derive_app_name("https://git.example.org/team/Heart-Model.git") == "heart-model"
    assert apps.derive_app_name("git@github.com:team/my_app.git") == "my-app"
    assert apps.derive_app_name("file:///srv/repos/2024-scorer") == "scorer"


def test_the_runners_are_held_by_the_platform_and_alive_until_stopped(server: Server) -> None:
    runners = (server.platform.build_runner, server.platform.job_runner)
    assert all(runner.alive() for runner in runners)
    for runner in runners:
        runner.stop()
    assert not any(runner.alive() for runner in runners)

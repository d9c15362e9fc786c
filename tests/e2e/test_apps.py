"""Apps as a new user runs them: wharf init, git, wharf app create, curl the route.

Real processes throughout: ``wharf up``, the CLI, git, uv, gunicorn replicas. The tour that
restarts ``wharf up`` has a server of its own; the other tests share one (each its own apps),
which builds the template's environment once. Waits poll through the SDK: the CLI is what
runs the steps, not the polls.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.gitrepos import commit_files, git
from tests.processes import RunningWharf, is_descendant, run_wharf_up
from tests.waiting import wait_until
from wharf.sdk import Client

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

CURL = [
    "curl",
    "-s",
    "-X",
    "POST",
    "-H",
    "Content-Type: application/json",
    "--data",
    '{"data": "hello world"}',
]


def init_project(wharf: RunningWharf, tmp_path: Path) -> Path:
    result = wharf.cli("init", "--no-input", "-o", str(tmp_path / "work"))
    assert result.returncode == 0, result.stderr
    project = tmp_path / "work" / "my_model"
    git(project, "init", "--quiet", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "-m", "first model")
    return project


def app_status(wharf: RunningWharf, name: str) -> dict[str, object]:
    shown = wharf.cli("app", "show", name, "--output", "json")
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)["status"]
    assert isinstance(status, dict)
    return status


def ready_replicas(wharf: RunningWharf, name: str) -> int:
    """How many replicas of ``name`` serve, asked through the SDK (a poll, not a CLI test)."""
    with Client.from_config(Path(wharf.env["WHARF_CONFIG_DIR"]) / "config.toml") as client:
        status = client.apps.get(name).status
    return 0 if status is None else status.ready


@pytest.fixture(scope="module")
def wharf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWharf]:
    """One server for the tests that neither restart it nor share an app name."""
    with run_wharf_up(tmp_path_factory.mktemp("apps")) as running:
        yield running


def test_init_commit_create_then_curl_the_route(tmp_path: Path) -> None:
    with run_wharf_up(tmp_path) as wharf:
        project = init_project(wharf, tmp_path)
        created = wharf.cli("app", "create", "--git", project.as_uri(), "--replicas", "2", "--wait")
        assert created.returncode == 0, created.stdout + created.stderr
        assert "Build #1 is complete" in created.stdout
        wait_until(lambda: ready_replicas(wharf, "my-model") == 2)

        route = f"{wharf.url}/apps/default/my-model/predictions"
        answer = subprocess.run([*CURL, route], capture_output=True, text=True, check=True)
        assert json.loads(answer.stdout) == {"prediction": "not implemented"}
        port = wharf.url.rsplit(":", 1)[1]
        by_host = httpx.post(
            f"{wharf.url}/predictions",
            json={"data": "hello world"},
            headers={"Host": f"my-model-default.apps.localhost:{port}"},
        )
        assert by_host.json() == {"prediction": "not implemented"}

        logs = wharf.cli("app", "logs", "my-model")
        assert logs.returncode == 0, logs.stderr
        assert "[replica-0]" in logs.stdout
        assert "[replica-1]" in logs.stdout
        assert "Booting worker" in logs.stdout

        listed = wharf.cli("app", "list")
        assert "my-model" in listed.stdout
        assert "#1 Complete" in listed.stdout

        # kill -9 of one of two replicas: the route keeps answering; the replica comes back.
        # The victim comes from the app's status, and must be of this test's own server.
        victim = app_status(wharf, "my-model")["replicas"][0]["pid"]
        assert is_descendant(victim, wharf.process.pid)
        os.kill(victim, signal.SIGKILL)
        failures = sum(httpx.post(route, json={"data": 1}).status_code != 200 for _ in range(60))
        assert failures == 0
        wait_until(lambda: ready_replicas(wharf, "my-model") == 2)
        assert app_status(wharf, "my-model")["restarts"] == 1

    # Stopping wharf up stops the replicas; starting it again brings the app back.
    with run_wharf_up(tmp_path) as wharf:
        route = f"{wharf.url}/apps/default/my-model/predictions"
        wait_until(lambda: httpx.post(route, json={}).status_code == 200)
        assert app_status(wharf, "my-model")["revision"] == "build-1"


def test_a_requirements_typo_fails_the_build_with_the_installer_message(
    wharf: RunningWharf, tmp_path: Path
) -> None:
    project = init_project(wharf, tmp_path)
    commit_files(project, {"requirements.txt": "flaskk-does-not-exist==99.0\n"}, "typo")
    created = wharf.cli("app", "create", "--git", project.as_uri(), "--name", "typo", "--wait")
    assert created.returncode == 1
    assert "Build #1 Failed" in created.stderr
    said = created.stdout + created.stderr
    assert said.count("No solution found") == 1, said  # printed once, not twice
    log = wharf.cli("app", "build", "logs", "typo", "1")
    assert "flaskk-does-not-exist" in log.stdout
    assert "Traceback" not in created.stderr + log.stdout


def test_custom_hostname_and_path_and_no_route(wharf: RunningWharf, tmp_path: Path) -> None:
    project = init_project(wharf, tmp_path)
    custom = wharf.cli(
        "app",
        "create",
        "--git",
        project.as_uri(),
        "--name",
        "heart",
        "--hostname",
        "models.example.org",
        "--path",
        "/predictions",
        "--path-mode",
        "keep",
        "--wait",
    )
    assert custom.returncode == 0, custom.stderr
    hidden = wharf.cli(
        "app", "create", "--git", project.as_uri(), "--name", "hidden", "--no-route", "--wait"
    )
    assert hidden.returncode == 0, hidden.stderr
    port = wharf.url.rsplit(":", 1)[1]
    wait_until(lambda: ready_replicas(wharf, "heart") == 1)
    on_custom = httpx.post(
        f"{wharf.url}/predictions", json={}, headers={"Host": f"models.example.org:{port}"}
    )
    assert on_custom.json() == {"prediction": "not implemented"}
    elsewhere = httpx.get(f"{wharf.url}/status", headers={"Host": "models.example.org"})
    assert elsewhere.status_code == 404, "only the route's path is served on that host"
    wait_until(lambda: ready_replicas(wharf, "hidden") == 1)
    assert httpx.post(f"{wharf.url}/apps/default/hidden/predictions", json={}).status_code == 404
    taken = wharf.cli(
        "app",
        "create",
        "--git",
        project.as_uri(),
        "--name",
        "other",
        "--hostname",
        "models.example.org",
    )
    assert taken.returncode == 1
    assert "already routed" in taken.stderr
    assert "other" not in wharf.cli("app", "list").stdout, "a refused create leaves nothing"


def test_an_app_over_its_memory_limit_is_stopped_and_reported(
    wharf: RunningWharf, tmp_path: Path
) -> None:
    project = init_project(wharf, tmp_path)
    hog = "\nimport os\n_ballast = bytearray(os.environ.get('HOG', '0') and 512 * 2**20)\n"
    commit_files(
        project,
        {"prediction.py": (project / "prediction.py").read_text() + hog},
        "needs a lot of memory",
    )
    created = wharf.cli(
        "app",
        "create",
        "--git",
        project.as_uri(),
        "--name",
        "hog",
        "--memory",
        "256Mi",
        "--env",
        "HOG=1",
        "--wait",
    )
    # --wait means serving: a revision killed for its memory never serves, and says why.
    assert created.returncode == 1, created.stderr
    assert "replica 0 exceeded its memory limit of 256Mi" in created.stderr
    status = app_status(wharf, "hog")
    assert "exceeded its memory limit of 256Mi" in str(status["last_rollout_failure"])

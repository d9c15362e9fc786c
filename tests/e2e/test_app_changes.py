"""Changing a running app, as a user does: scale, env, memory limit and path routes, under
load through the real route, with ``wharf up`` and real gunicorn replicas.

One server and one template app for the whole module: building it is the slow part.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.test_apps import app_status, init_project
from tests.gitrepos import commit_files
from tests.processes import RunningWharf, run_wharf_up
from tests.runtime_support import Hammer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningWharf, Path]]:
    tmp_path = tmp_path_factory.mktemp("changes")
    with run_wharf_up(tmp_path) as wharf:
        project = init_project(wharf, tmp_path)
        created = wharf.cli(
            "app", "create", "--git", project.as_uri(), "--path", "/churn", "--wait"
        )
        assert created.returncode == 0, created.stdout + created.stderr
        # --wait means serving: the route answers the moment the command returns.
        first = httpx.get(f"{wharf.url}/apps/default/my-model/status")
        assert first.status_code == 200, first.text
        assert "Build #1 serves at " in created.stderr
        yield wharf, project


def changed_under_load(wharf: RunningWharf, *args: str) -> str:
    """Run ``wharf app ...`` while a client loop hits the route; no request may fail."""
    route = f"{wharf.url}/apps/default/my-model/status"
    with Hammer(route) as hammer:
        hammer.wait_for(20)
        done = wharf.cli("app", *args)
        assert done.returncode == 0, done.stdout + done.stderr
        before = len(hammer.outcomes)
        hammer.wait_for(before + 20)
    assert hammer.failures == [], hammer.failures[:5]
    return done.stdout + done.stderr


def test_scale_env_and_memory_change_with_no_failed_request(
    served: tuple[RunningWharf, Path],
) -> None:
    wharf, _ = served
    pids_before = {r["pid"] for r in app_status(wharf, "my-model")["replicas"]}  # type: ignore[index,union-attr]

    changed_under_load(wharf, "scale", "my-model", "--replicas", "3")
    status = app_status(wharf, "my-model")
    assert (status["ready"], status["desired"]) == (3, 3)
    replicas = status["replicas"]
    assert isinstance(replicas, list)
    # The first replica kept running: scaling started two more beside it.
    assert pids_before <= {r["pid"] for r in replicas}

    changed_under_load(wharf, "scale", "my-model", "--replicas", "1")
    status = app_status(wharf, "my-model")
    assert (status["ready"], status["desired"]) == (1, 1)
    replicas = status["replicas"]
    assert isinstance(replicas, list)
    assert {r["pid"] for r in replicas} == pids_before

    said = changed_under_load(wharf, "update", "my-model", "--env", "GREETING=hello")
    assert "env.GREETING: (none) -> hello" in said
    changed_under_load(wharf, "update", "my-model", "--memory", "512Mi")
    status = app_status(wharf, "my-model")
    assert status["ready"] == 1
    assert status["limits"]["memory"]["requested"] == "512Mi"  # type: ignore[index]

    shown = wharf.cli("app", "show", "my-model", "--output", "json")
    app = json.loads(shown.stdout)
    assert (app["replicas"], app["env"], app["memory"]) == (1, {"GREETING": "hello"}, "512Mi")

    listed = wharf.cli("app", "events", "my-model", "--output", "json")
    assert listed.returncode == 0, listed.stderr
    changes = [e for e in json.loads(listed.stdout) if e["kind"] in ("Scaled", "Updated")]
    assert [(e["kind"], e["actor"]) for e in changes] == [
        ("Updated", "admin"),
        ("Updated", "admin"),
        ("Scaled", "admin"),
        ("Scaled", "admin"),
    ]
    assert [c["field"] for e in changes for c in e["changes"]] == [
        "memory",
        "env.GREETING",
        "replicas",
        "replicas",
    ]
    shown_table = wharf.cli("app", "show", "my-model").stdout
    for words in (
        "Replicas:",
        "Ready",
        "GREETING",
        "memory 512Mi (",
        "path /churn (strip)",
        "Recent events:",
        "replicas 3 -> 1",
        "assigned by Wharf and passed as PORT",
    ):
        assert words in shown_table, (words, shown_table)
    table = wharf.cli("app", "events", "my-model")
    assert "replicas 1 -> 3" in table.stdout
    assert "admin" in table.stdout


def test_a_path_route_answers_below_its_prefix_and_every_listed_url_answers(
    served: tuple[RunningWharf, Path],
) -> None:
    wharf, _ = served
    port = wharf.url.rsplit(":", 1)[1]
    host = f"my-model-default.apps.localhost:{port}"
    answer = httpx.post(f"{wharf.url}/churn/predictions", json={"data": 1}, headers={"Host": host})
    assert answer.json() == {"prediction": "not implemented"}

    urls = json.loads(wharf.cli("app", "show", "my-model", "--output", "json").stdout)["route"][
        "urls"
    ]
    assert len(urls) == 2
    for url in urls:
        parts = urlsplit(url)
        # *.apps.localhost is loopback: connect there, naming the host as a browser would.
        status = httpx.get(
            f"{wharf.url}{parts.path.rstrip('/')}/status", headers={"Host": parts.netloc}
        )
        assert status.status_code == 200, (url, status.text)


def test_a_revision_that_never_starts_fails_follow_with_the_apps_own_error(
    served: tuple[RunningWharf, Path],
) -> None:
    wharf, project = served
    commit_files(project, {"prediction.py": "def predict(args)\n    return {}\n"}, "typo")
    started = wharf.cli("app", "build", "start", "my-model", "--follow")
    assert started.returncode == 1, started.stdout + started.stderr
    assert "SyntaxError" in started.stderr
    assert "prediction.py, line 1" in started.stderr
    assert "Worker failed to boot" not in started.stderr
    # The previous revision keeps serving.
    assert httpx.get(f"{wharf.url}/apps/default/my-model/status").status_code == 200

"""Push to deploy, as a team runs it: a signed webhook per git host rebuilds the app and rolls
it out while a client keeps calling the route; a broken push leaves the last good revision
serving; a rollback serves an earlier build again.

Real processes throughout: ``wharf up``, the CLI, git, uv, gunicorn replicas.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.serving import init_project
from tests.gitrepos import commit_files, git
from tests.hookpayloads import SIGNING, provider_request
from tests.processes import RunningWharf, run_wharf_up
from tests.waiting import wait_until
from wharf.sdk import Client

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

PREDICTION = """\
def predict(args_dict):
    return {"prediction": %r}
"""


class Hammer:
    """Calls the route back to back on a thread and counts every answer."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: Counter[str] = Counter()
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as http:
            while not self._stop.is_set():
                try:
                    response = http.post(self.url, json={"data": "hello"})
                except httpx.HTTPError as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                if response.status_code != 200:
                    self.failures.append(f"{response.status_code}: {response.text[:200]}")
                else:
                    self.answers[response.json()["prediction"]] += 1

    def __enter__(self) -> Hammer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def client_of(wharf: RunningWharf) -> Client:
    return Client.from_config(Path(wharf.env["WHARF_CONFIG_DIR"]) / "config.toml")


def predicts(route: str, value: str) -> bool:
    answer = httpx.post(route, json={"data": "hello"}, timeout=30)
    return answer.status_code == 200 and answer.json() == {"prediction": value}


def push(
    project: Path, urls: dict[str, str], provider: str, files: dict[str, str]
) -> dict[str, object]:
    sha = commit_files(project, files, f"change for {provider}")
    body, headers = provider_request(provider, project, sha, branch="main")
    answer = httpx.post(urls[provider], content=body, headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["result"] == "queued", result
    assert result["commit_sha"] == sha
    return result


def test_pushes_from_every_git_host_roll_out_with_no_failed_request(tmp_path: Path) -> None:
    with run_wharf_up(tmp_path) as wharf, client_of(wharf) as client:
        project = init_project(tmp_path / "work", wharf.env)
        git(project, "init", "--quiet", "-b", "main")
        git(project, "add", "-A")
        git(project, "commit", "--quiet", "-m", "first model")
        created = wharf.cli(
            "app",
            "create",
            "--git",
            project.as_uri(),
            "--name",
            "model",
            "--replicas",
            "2",
            "--wait",
        )
        assert created.returncode == 0, created.stdout + created.stderr
        route = f"{wharf.url}/apps/default/model/predictions"
        wait_until(lambda: predicts(route, "not implemented"), 120, "build #1 serving")

        generated = wharf.cli("app", "webhook", "signing-secret", "model", "--value-stdin")
        assert generated.returncode != 0  # no stdin given: one plain line, no traceback
        assert "Traceback" not in generated.stderr
        client.apps.set_webhook_signing_secret("model", SIGNING)
        shown = wharf.cli("app", "webhook", "show", "model", "--output", "json")
        assert shown.returncode == 0, shown.stderr
        urls = json.loads(shown.stdout)["urls"]
        assert set(urls) == {"github", "gitlab", "gitea", "bitbucket", "generic"}
        assert urls["github"].startswith(f"{wharf.url}/hooks/default/model/")

        with Hammer(route) as hammer:
            for number, provider in enumerate(
                ["github", "gitlab", "gitea", "bitbucket", "generic"], start=2
            ):
                value = f"from {provider}"
                result = push(project, urls, provider, {"prediction.py": PREDICTION % value})
                assert result["build"] == number
                wait_until(lambda v=value: hammer.answers[v] > 0, 120, f"{provider} push serving")
                build = client.builds.wait("model", number)
                assert (build.phase, build.trigger) == ("Complete", f"webhook:{provider}")
                assert build.environment_reused
        assert hammer.failures == []
        assert hammer.answers["not implemented"] > 0
        assert sum(hammer.answers.values()) > 50
        secret = urlsplit(urls["github"]).path.split("/")[4]
        assert secret not in wharf.log.read_text()

        # An app that crashes on start: the build completes, its revision never gets
        # ready, and the last good one keeps serving, with the reason on the build.
        with Hammer(route) as hammer:
            crash = push(project, urls, "github", {"prediction.py": "raise SystemExit(3)\n"})
            build = client.builds.wait("model", int(str(crash["build"])))
            wait_until(
                lambda: "did not start" in client.builds.get("model", 7).message,
                120,
                "the failed rollout on build #7",
            )
            # the route keeps answering after the failed rollout, not only until it
            answered = hammer.answers.total()
            wait_until(lambda: hammer.answers.total() >= answered + 20, 60, "20 more answers")
        assert build.phase == "Complete"
        assert hammer.failures == []
        assert set(hammer.answers) == {"from generic"}
        assert client.apps.get("model").serving_build == 6

        # A requirements typo fails the build; nothing changes for the route.
        typo = push(project, urls, "github", {"requirements.txt": "flaskk-nope==99\n"})
        assert client.builds.wait("model", int(str(typo["build"]))).phase == "Failed"
        assert predicts(route, "from generic")
        assert client.apps.get("model").serving_build == 6

        started = time.monotonic()
        rolled = wharf.cli("app", "rollback", "model", "--to", "1")
        took = time.monotonic() - started
        assert rolled.returncode == 0, rolled.stderr
        assert "serves build #1" in rolled.stderr
        assert predicts(route, "not implemented")
        print(f"rollback to build #1 took {took:.2f} s (CLI included)")
        again = wharf.cli("app", "rollback", "model", "--to", "1")  # nothing to do: refused
        assert again.returncode == 1
        assert "already serves build #1" in again.stderr
        back = wharf.cli("app", "rollback", "model")  # the Complete build before #1: none
        assert back.returncode == 1
        assert "no Complete build before #1" in back.stderr
        failed = wharf.cli("app", "rollback", "model", "--to", "8")
        assert failed.returncode == 1
        assert "build #8 of 'model' is Failed" in failed.stderr

        deliveries = wharf.cli("app", "webhook", "deliveries", "model", "--output", "json")
        rows = json.loads(deliveries.stdout)
        assert [r["provider"] for r in rows[:3]] == ["github", "github", "generic"]
        assert {r["result"] for r in rows} == {"queued"}

"""``wharf up --demo`` as a new user runs it: a real server on a fresh data dir, the real CLI.

The demo ends with its app answering on its route and its job Completed, and says so; a
second run on the same data dir reuses everything and adds nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from tests.console.browsing import sign_in
from tests.processes import RunningWharf, run_wharf_up
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

LAST_LINE = "  wharf batch-endpoint invoke --name heart-risk"
"""The summary's last line: once it is in the log, the demo has finished waiting."""


def wait_for_summary(wharf: RunningWharf) -> str:
    def printed() -> str | None:
        text = wharf.log.read_text()
        return text if LAST_LINE in text or "could not be set up" in text else None

    log: str = wait_until(printed, 300, "the demo's summary")
    return log


def signs_in(wharf: RunningWharf, password: str) -> bool:
    """Whether the console's sign-in form takes the admin with ``password``."""
    with httpx.Client(base_url=wharf.url) as browser:
        answer = sign_in(browser, "admin", password)
    return answer.status_code == 303 and "wharf_session" in answer.cookies


def cli_json(wharf: RunningWharf, *args: str) -> object:
    done = wharf.cli(*args, "--output", "json")
    assert done.returncode == 0, f"wharf {' '.join(args)}: {done.stderr}"
    return json.loads(done.stdout)


def inventory(wharf: RunningWharf) -> dict[str, list[object]]:
    """What the demo makes, as the CLI lists it: the names (or numbers) of each kind."""

    def names(key: str, *args: str) -> list[object]:
        listed = cli_json(wharf, *args)
        assert isinstance(listed, list)
        return [item[key] for item in listed]

    return {
        "apps": names("name", "app", "list"),
        "builds": names("number", "app", "build", "list", "heart-risk"),
        "data versions": names("version", "data", "list", "heart-patients"),
        "endpoints": names("name", "batch-endpoint", "list"),
        "deployments": names("name", "batch-deployment", "list", "-e", "heart-risk"),
        "jobs": names("name", "job", "list"),
    }


def test_demo_serves_its_app_completes_its_job_and_a_second_run_adds_nothing(
    tmp_path: Path, database_url: str
) -> None:
    env = {"WHARF_DATABASE_URL": database_url}
    with run_wharf_up(tmp_path, "--demo", env=env) as wharf:
        log = wait_for_summary(wharf)
        assert "Demo ready" in log, log
        assert f"  console   {wharf.url}/" in log
        shown = re.search(r"user admin, password (\S+) \(shown this once", log)
        assert shown, log
        password = shown.group(1)
        assert signs_in(wharf, password)
        app_url = f"{wharf.url}/apps/default/heart-risk/"
        assert httpx.get(app_url).json() == {"status": "ok"}
        patient = {"age": 61, "systolic_bp": 150, "cholesterol": 250, "smoker": 1}
        assert httpx.post(f"{app_url}predictions", json=patient).json() == {
            "score": 8,
            "risk": "high",
        }
        first = inventory(wharf)
        assert first == {
            "apps": ["heart-risk"],
            "builds": [1],
            "data versions": ["1"],
            "endpoints": ["heart-risk"],
            "deployments": ["rules"],
            "jobs": first["jobs"],
        }
        (job_name,) = first["jobs"]
        job = cli_json(wharf, "job", "show", str(job_name))
        assert isinstance(job, dict)
        assert job["status"] == "Completed", job
        assert job["progress"]["items_done"] == 4
        assert f"wharf job download {job_name} --output-name score" in log
        saved = wharf.cli(
            "job", "download", str(job_name), "--output-name", "score", "--path", str(tmp_path)
        )
        assert saved.returncode == 0, saved.stderr
        rows = (tmp_path / "predictions.csv").read_text().splitlines()
        assert rows[0] == "patient_id,score,risk"
        assert len(rows) == 1 + 100

    with run_wharf_up(tmp_path, "--demo", env=env) as wharf:
        log = wait_for_summary(wharf)
        assert "it existed: nothing added" in log, log
        assert password not in log
        assert "with the password printed when the demo first ran" in log
        assert signs_in(wharf, password)
        assert httpx.get(f"{wharf.url}/apps/default/heart-risk/").status_code == 200
        assert inventory(wharf) == first


def test_a_first_start_suggests_the_demo_and_a_later_start_does_not(tmp_path: Path) -> None:
    with run_wharf_up(tmp_path) as wharf:
        assert "wharf up --demo" in wharf.log.read_text()
    with run_wharf_up(tmp_path) as wharf:
        assert "wharf up --demo" not in wharf.log.read_text()

"""A real ``wharf up`` killed with SIGKILL in the middle of a batch job, then started again:
the job resumes and its output holds every input row exactly once, in order, whether the
job's worker processes died with the server or were left running as orphans."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import signal
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.batchfiles import SCORE, create_data_asset, upload_folder, write_code, write_csv_files
from tests.processes import run_wharf_up
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

FILES, ROWS = 20, 3


def worker_pids(job: str) -> list[int]:
    """Batch worker processes of ``job`` (they carry ``--job <name>`` on their command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in command and job.encode() in command:
            found.append(int(entry.name))
    return found


def read_job(http: httpx.Client, name: str) -> dict[str, Any]:
    answer = http.get(f"/api/v1/workspaces/default/jobs/{name}")
    assert answer.status_code == 200, answer.text
    job: dict[str, Any] = answer.json()
    return job


@pytest.mark.parametrize("workers", ["left-running", "killed-too"])
def test_a_killed_server_resumes_the_job_and_writes_each_row_once(
    tmp_path: Path, workers: str
) -> None:
    with run_wharf_up(tmp_path) as first:
        token = tomllib.loads((tmp_path / "config" / "config.toml").read_text())["token"]
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=first.url, headers=headers, timeout=120) as http:
            data = upload_folder(http, token, write_csv_files(tmp_path / "heart", FILES), "heart")
            create_data_asset(http, token, "heart", data)
            code = upload_folder(http, token, write_code(tmp_path / "s", {"score.py": SCORE}), "s")
            assert http.post(
                "/api/v1/workspaces/default/batch-endpoints", json={"name": "heart"}
            ).is_success
            created = http.post(
                "/api/v1/workspaces/default/batch-endpoints/heart/deployments",
                json={
                    "name": "slow",
                    "code_configuration": {"code": code, "scoring_script": "score.py"},
                    "settings": {
                        "mini_batch_size": 1,
                        "max_concurrency_per_instance": 2,
                        "environment_variables": {"SLEEP": "0.5"},
                    },
                },
            )
            assert created.status_code == 201, created.text
            invoked = http.post(
                "/api/v1/workspaces/default/batch-endpoints/heart/jobs",
                json={"inputs": {"heart": {"type": "uri_folder", "path": "data:heart@latest"}}},
            )
            assert invoked.status_code == 201, invoked.text
            name = invoked.json()["name"]
            wait_until(
                lambda: read_job(http, name)["progress"].get("mini_batches_done", 0) >= 4,
                60,
                "four mini-batches done",
            )
        orphans = worker_pids(name)
        assert orphans, "the job's workers should be running"
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait()
        if workers == "killed-too":
            for pid in orphans:
                # In the sandbox, workers die with the server (bwrap --die-with-parent).
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        # Orphans notice that their server is gone and stop themselves.
        wait_until(lambda: not worker_pids(name), 10, "the old workers to stop")

    with (
        run_wharf_up(tmp_path) as second,
        httpx.Client(base_url=second.url, headers=headers, timeout=60) as http,
    ):
        job = wait_until(
            lambda: (j := read_job(http, name))["status"] in ("Completed", "Failed") and j,
            120,
            "the job to end",
        )
        assert job["status"] == "Completed", job
        assert job["resumed"] == 1
        assert job["progress"]["items_done"] == FILES
        output = http.get(f"/api/v1/workspaces/default/jobs/{name}/outputs/score")
        assert output.status_code == 200, output.text
        log = http.get(f"/api/v1/workspaces/default/jobs/{name}/log").text
    rows = list(csv.DictReader(io.StringIO(output.text)))
    assert [row["id"] for row in rows] == [
        str(n * 100 + r) for n in range(FILES) for r in range(ROWS)
    ]
    assert "resuming job" in log
    assert not worker_pids(name)

"""An operator's view of a real ``wharf up``: JSON log lines, request ids, and ``/metrics``
after a build, route requests and a batch job (every family, by name)."""

from __future__ import annotations

import json
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.batchfiles import (
    SCORE,
    create_data_asset,
    upload_folder,
    wait_for_job,
    write_code,
    write_csv_files,
)
from tests.gitrepos import git, make_repo
from tests.processes import RunningWharf, run_wharf_up

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(360)]

FAMILIES = (
    "wharf_api_requests_total",
    "wharf_api_request_duration_seconds_count",
    "wharf_route_requests_total",
    "wharf_route_request_duration_seconds_count",
    "wharf_route_upstream_errors_total",
    "wharf_app_replicas_ready",
    "wharf_app_replicas_desired",
    "wharf_builds",
    "wharf_build_duration_seconds_count",
    "wharf_jobs",
    "wharf_mini_batches_total",
    "wharf_mini_batch_duration_seconds_count",
)
# Families whose value may rightly be 0 after this run: they must still be exported.
PRESENT_FAMILIES = (
    "wharf_route_requests_in_flight",
    "wharf_app_replica_restarts_total",
    "wharf_build_queue_depth",
    "wharf_job_queue_depth",
)


def samples(text: str) -> dict[str, float]:
    """Sum of the samples of each series name in a Prometheus text exposition."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series, value = line.rsplit(" ", 1)
        name = series.split("{", 1)[0]
        totals[name] = totals.get(name, 0.0) + float(value)
    return totals


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.3)


def create_app_from_template(wharf: RunningWharf, tmp_path: Path) -> None:
    assert wharf.cli("init", "--no-input", "-o", str(tmp_path / "work")).returncode == 0
    project = tmp_path / "work" / "my_model"
    git(project, "init", "--quiet", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "-m", "first model")
    created = wharf.cli("app", "create", "--git", project.as_uri(), "--wait")
    assert created.returncode == 0, created.stdout + created.stderr


def run_a_job(http: httpx.Client, token: str, tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    data = upload_folder(http, token, write_csv_files(tmp_path / "heart", 4), "heart")
    create_data_asset(http, token, "heart", data)
    code = upload_folder(http, token, write_code(tmp_path / "s", {"score.py": SCORE}), "c/s")
    ws = "/api/v1/workspaces/default"
    assert http.post(f"{ws}/batch-endpoints", json={"name": "heart"}, headers=headers).is_success
    deployment = {
        "name": "d1",
        "code_configuration": {"code": code, "scoring_script": "score.py"},
        "settings": {"mini_batch_size": 2},
    }
    created = http.post(f"{ws}/batch-endpoints/heart/deployments", json=deployment, headers=headers)
    assert created.status_code == 201, created.text
    body = {"inputs": {"heart_dataset": {"type": "uri_folder", "path": "data:heart@latest"}}}
    invoked = http.post(f"{ws}/batch-endpoints/heart/jobs", json=body, headers=headers)
    assert invoked.status_code == 201, invoked.text
    job = wait_for_job(http, token, invoked.json()["name"], timeout=180)
    assert job["status"] == "Completed", job


def test_json_logs_request_ids_and_every_metric_family(tmp_path: Path) -> None:
    with run_wharf_up(tmp_path, "--log-format", "json") as wharf:
        token = tomllib.loads((tmp_path / "config" / "config.toml").read_text())["token"]
        http = httpx.Client(base_url=wharf.url, timeout=30)
        create_app_from_template(wharf, tmp_path)
        wait_until(lambda: "build #1 serving" in wharf.log.read_text(), 60, "build #1 serving")

        route = "/apps/default/my-model/predictions"
        for n in range(3):
            answer = http.post(route, json={"n": n}, headers={"X-Request-ID": f"route-{n}"})
            assert answer.status_code == 200, answer.text
            assert answer.headers["x-request-id"] == f"route-{n}"
        assert http.get("/apps/default/no-such-app/").status_code == 404
        # An app whose only build fails has a route and no replica: an upstream error.
        broken = make_repo(tmp_path / "broken", {"README.md": "no requirements here\n"})
        wharf.cli("app", "create", "--git", broken, "--name", "broken")
        assert http.get("/apps/default/broken/").status_code == 503

        missing = http.get(
            "/api/v1/workspaces/default/apps/nope",
            headers={
                "Authorization": f"Bearer {token}",
                "X-Request-ID": "operator-42",
            },
        )
        assert missing.status_code == 404
        assert missing.json()["request_id"] == "operator-42"
        assert missing.headers["x-request-id"] == "operator-42"

        run_a_job(http, token, tmp_path)
        exposition = http.get("/metrics")
        assert exposition.status_code == 200
        assert exposition.headers["content-type"].startswith("text/plain")
        values = samples(exposition.text)
        zero = [name for name in FAMILIES if values.get(name, 0) <= 0]
        assert zero == [], f"families without a non-zero series: {zero}"
        absent = [name for name in PRESENT_FAMILIES if name not in values]
        assert absent == [], f"families not exported: {absent}"
        # Route templates, never raw paths: the app name in a URL is not a label value.
        assert 'route="/api/v1/workspaces/{ws}/apps/{app}"' in exposition.text
        assert "/apps/nope" not in exposition.text
        assert 'wharf_route_requests_total{app="my-model",code="200",workspace="default"}' in (
            exposition.text
        )
        assert 'reason="no-ready-replica"' in exposition.text
        http.close()

    lines = [line for line in wharf.log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
    assert any("build #1 serving" in record["message"] for record in records)
    assert any(
        record["logger"] == "wharf.builds" and "is complete" in record["message"]
        for record in records
    )
    access = [r for r in records if r["logger"] == "wharf.access"]
    mine = [r for r in access if r.get("request_id") == "operator-42"]
    assert len(mine) == 1, mine
    assert mine[0]["status"] == 404
    assert mine[0]["path"] == "/api/v1/workspaces/default/apps/nope"
    assert any(r.get("request_id") == "route-1" and r["status"] == 200 for r in access)

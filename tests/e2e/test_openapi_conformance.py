"""The OpenAPI document tells the truth: a bounded schemathesis run against a real server finds
no server error and no answer (status, content type, headers, body) the document does not
declare."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.openapi_fuzz import CHECKS

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]
REPO = Path(__file__).resolve().parents[2]


def network_namespaces_work() -> bool:
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


def test_the_api_answers_only_what_its_openapi_document_declares(tmp_path: Path) -> None:
    if not network_namespaces_work():
        pytest.skip("needs 'unshare -n' (root): the fuzzer's made-up URLs must reach nothing")
    run = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "tests.openapi_fuzz", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=140,
    )
    report = json.loads((tmp_path / "report.json").read_text())
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert report["failures"] == []
    assert report["errors"] == []
    assert report["operations"]["tested"] >= 60, report["operations"]
    assert report["test_cases"]["generated"] >= 100, report["test_cases"]
    assert {"not_a_server_error", "status_code_conformance"} <= set(CHECKS)

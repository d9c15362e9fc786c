"""Request bodies are bounded as they stream, before any token is checked (finding 5).

A real ``wharf up``; a raw client sends bodies chunk by chunk only while the server reads
them, so each test sees how much the server took before it answered, and the server
process's peak memory (``VmHWM`` in ``/proc``) shows that nothing near the body's size was
held. Before the limit existed, a 400 MiB chunked webhook body took the server from 278 to
985 MB.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import httpx
import pytest

from tests.processes import RunningWharf, run_wharf_up
from tests.rawhttp import send_body

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

MiB = 1024 * 1024
SLACK = 16 * MiB
"""What loopback socket buffers and the server's read-ahead can hold beyond the limit."""


def memory_kib(wharf: RunningWharf, field: str) -> int:
    for line in Path(f"/proc/{wharf.process.pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for the server process")


def admin_token(wharf: RunningWharf) -> str:
    config = Path(wharf.env["WHARF_CONFIG_DIR"]) / "config.toml"
    return str(tomllib.loads(config.read_text())["token"])


def test_oversized_bodies_are_refused_while_they_stream_without_a_token(tmp_path: Path) -> None:
    with run_wharf_up(tmp_path) as wharf:
        before = memory_kib(wharf, "VmRSS")

        hook = send_body(wharf.url, "/hooks/default/model/not-the-secret/github", 256 * MiB)
        assert hook.status == 413, hook.head
        assert "application/problem+json" in hook.head
        assert hook.body_sent <= 25 * MiB + SLACK, hook.body_sent

        users = send_body(
            wharf.url, "/api/v1/users", 64 * MiB, headers={"Content-Type": "application/json"}
        )
        assert users.status == 413, users.head
        assert users.body_sent <= 1 * MiB + SLACK, users.body_sent
        assert "larger than 1 MiB" in users.head

        # A declared length over the limit is refused before a byte of the body is sent.
        declared = send_body(
            wharf.url, "/api/v1/users", 0, chunked=False, declared=200 * MiB, timeout=20
        )
        assert declared.status == 413, declared.head
        assert declared.body_sent == 0

        growth_mib = (memory_kib(wharf, "VmHWM") - before) / 1024
        assert growth_mib < 100, f"the server's peak memory grew by {growth_mib:.0f} MiB"

        # Within the limit, the same route still answers as it did (no token: 401).
        small = httpx.post(f"{wharf.url}/api/v1/users", json={"name": "eve"})
        assert small.status_code == 401


def test_uploads_have_their_own_limit_and_leave_nothing_behind(tmp_path: Path) -> None:
    limit = {"WHARF_MAX_UPLOAD_BYTES": str(8 * MiB)}
    with run_wharf_up(tmp_path, env=limit) as wharf:
        auth = {"Authorization": f"Bearer {admin_token(wharf)}"}
        files = f"{wharf.url}/api/v1/workspaces/default/datastores/default/files"
        # Larger than a JSON request may be, smaller than an upload may be: accepted.
        fits = httpx.put(f"{files}/fits.bin", content=b"x" * (3 * MiB), headers=auth, timeout=60)
        assert fits.status_code == 200, fits.text
        assert fits.json()["size"] == 3 * MiB

        path = "/api/v1/workspaces/default/datastores/default/files/big.bin"
        big = send_body(wharf.url, path, 64 * MiB, method="PUT", headers=auth)
        assert big.status == 413, big.head
        assert big.body_sent <= 8 * MiB + SLACK
        listed = httpx.get(files, headers=auth, timeout=30).json()
        assert [f["path"] for f in listed] == ["fits.bin"], json.dumps(listed)

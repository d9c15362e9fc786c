"""Schemathesis against a real ``wharf up``, run inside a network namespace of its own.

Run by ``tests/e2e/test_openapi_conformance.py`` as ``unshare -n python -m tests.openapi_fuzz
WORKDIR``: in that namespace only loopback exists, so whatever URL the fuzzer invents (a git
remote, a datastore endpoint, a job input) can reach nothing but this server. Writes
schemathesis' JSON report to WORKDIR/report.json and exits with schemathesis' exit code.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.processes import VENV_BIN, run_wharf_up

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
CONFIG = """
# Every workspace route in the one workspace there is: otherwise nearly every case stops at
# "no such workspace" and the routes behind it go untested.
[parameters]
"path.ws" = "default"

# Revoking tokens by made-up ids soon revokes the fuzzer's own (id 1): the rest would be 401s.
[[operations]]
include-path = "/api/v1/tokens/{token_id}"
include-method = "DELETE"
enabled = false
"""
MAX_EXAMPLES = 10
"""Test cases per operation and phase, at most."""
MAX_SECONDS = 15
"""The fuzzer's time budget; the whole run, start-up included, stays well under a minute."""


def main(workdir: Path) -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    with run_wharf_up(workdir) as wharf:
        token = tomllib.loads((workdir / "config" / "config.toml").read_text())["token"]
        config = workdir / "schemathesis.toml"
        config.write_text(CONFIG)
        command = [
            str(VENV_BIN / "schemathesis"),
            "--config-file",
            str(config),
            "run",
            f"{wharf.url}/api/v1/openapi.json",
            "--url",
            wharf.url,
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            ",".join(CHECKS),
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--max-time",
            str(MAX_SECONDS),
            # One worker: schemathesis' threads race in CPython 3.11's ast module (a runtime
            # error), and two cores are shared with the server anyway.
            "--workers",
            "1",
            "--seed",
            "1",
            "--no-shrink",
            "--request-timeout",
            "10",
            "--report",
            "json",
            "--report-json-path",
            str(workdir / "report.json"),
            "--output-truncate",
            "true",
        ]
        return subprocess.run(command, env=wharf.env, cwd=workdir, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))

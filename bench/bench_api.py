"""API overhead: the cost of token authentication and a role check, side by side with health.

Starts a real ``wharf up`` (SQLite, a temporary data dir), then drives, in one run:
``GET /api/v1/health`` (no auth), ``GET /api/v1/users/me`` (token only) and
``GET /api/v1/workspaces/default/members`` (token + role check + a query).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import httpx

from bench.load import print_table, run_load

TOTAL = 2000
CONCURRENCY = 16


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        env = dict(os.environ, WHARF_DATA_DIR=f"{tmp}/data", WHARF_CONFIG_DIR=f"{tmp}/config")
        env["WHARF_LOG_LEVEL"] = "warning"
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "wharf"), "up", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}/api/v1"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                time.sleep(0.2)
            token = tomllib.loads(Path(f"{tmp}/config/config.toml").read_text())["token"]
            auth = {"headers": {"Authorization": f"Bearer {token}"}}
            health = run_load(
                "health (no auth)", "GET", f"{base}/health", total=TOTAL, concurrency=CONCURRENCY
            )
            me = run_load(
                "users/me (token)",
                "GET",
                f"{base}/users/me",
                total=TOTAL,
                concurrency=CONCURRENCY,
                **auth,
            )
            members = run_load(
                "members (token + role check)",
                "GET",
                f"{base}/workspaces/default/members",
                total=TOTAL,
                concurrency=CONCURRENCY,
                **auth,
            )
            print(f"{TOTAL} requests each, {CONCURRENCY} concurrent clients, one server process")
            print_table([health, me, members], baseline=health)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()

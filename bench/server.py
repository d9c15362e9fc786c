"""A real ``wharf up`` for benchmarks: a temporary data dir, a free port, stopped afterwards."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

WHARF = str(Path(sys.executable).parent / "wharf")


@dataclass(frozen=True)
class BenchServer:
    url: str
    tmp: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    @property
    def token(self) -> str:
        token: str = tomllib.loads((self.tmp / "config" / "config.toml").read_text())["token"]
        return token


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(url: str, timeout: float = 60) -> None:
    """Return once ``url``'s health route answers 200; while nothing listens yet, keep asking
    until ``timeout`` seconds have passed (then the connection error is raised)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/api/v1/health").status_code == 200:
                return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


@contextmanager
def running_wharf(*args: str, folder: Path | None = None) -> Iterator[BenchServer]:
    """Start ``wharf up`` (with ``args``) quietly, wait for health, stop it (and its replicas)
    after. Its data and config live in ``folder`` (kept), or in a temporary folder; what it
    prints goes to ``up.log`` there."""
    with contextlib.ExitStack() as stack:
        tmp = folder or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        yield stack.enter_context(_serving(tmp, args))


@contextmanager
def _serving(tmp: Path, args: tuple[str, ...]) -> Iterator[BenchServer]:
    port = _free_port()
    env = dict(
        os.environ,
        WHARF_DATA_DIR=f"{tmp}/data",
        WHARF_CONFIG_DIR=f"{tmp}/config",
        WHARF_LOG_LEVEL="warning",
    )
    with (tmp / "up.log").open("wb") as log:
        process = subprocess.Popen(
            [WHARF, "up", "--port", str(port), *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url)
        yield BenchServer(url, tmp, env, process)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)

"""Starting and stopping real processes in tests: free ports, waiting for HTTP, clean stops."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.waiting import wait_until

VENV_BIN = Path(sys.executable).parent
WHARF = str(VENV_BIN / "wharf")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_http(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``url`` until it answers 200; fail early if ``process`` exits."""

    def answers() -> bool:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode} before {url} answered")
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(answers, timeout, f"{url} to answer")


def is_descendant(pid: int, ancestor: int) -> bool:
    """Whether ``pid`` is ``ancestor`` or one of its descendants (read from /proc)."""
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])  # the field after the command's name
    return False


def stop_group(
    process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, grace: float = 20
) -> int:
    """Signal the process group, wait, and SIGKILL what is left. Returns the exit code."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        return process.wait(timeout=grace)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def group_is_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@dataclass
class RunningWharf:
    url: str
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    log: Path

    def cli(self, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run the real ``wharf`` command against this server."""
        env = dict(self.env)
        if token is not None:
            env["WHARF_TOKEN"] = token
        return subprocess.run([WHARF, *args], env=env, capture_output=True, text=True, timeout=60)


SHARED_UV_CACHE = "WHARF_TEST_UV_CACHE"
"""The variable naming this test run's uv cache (set by ``tests/conftest.py``)."""
PRIVATE_UV_CACHES = {"WHARF_SANDBOX_SHARED_UV_CACHE": "false"}
"""``env`` for a server whose sandboxed installs get a uv cache each, as by default: for the
tests of that isolation."""


def wharf_env(tmp_path: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a test's ``wharf up``: its own folders, and the run's uv cache shared
    by its sandboxed installs, so that each package downloads once per run (``extra`` with
    ``PRIVATE_UV_CACHES`` keeps Wharf's default)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHARF_")}
    env.update(
        WHARF_DATA_DIR=str(tmp_path / "data"),
        WHARF_CONFIG_DIR=str(tmp_path / "config"),
        HOME=str(tmp_path / "home"),
        COLUMNS="200",
    )
    if SHARED_UV_CACHE in os.environ:
        env.update(UV_CACHE_DIR=os.environ[SHARED_UV_CACHE], WHARF_SANDBOX_SHARED_UV_CACHE="true")
    env.update(extra or {})
    return env


@contextmanager
def run_wharf_up(
    tmp_path: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 60
) -> Iterator[RunningWharf]:
    """``wharf up`` on a free port in its own process group; stopped (and checked) after."""
    port = free_port()
    full_env = wharf_env(tmp_path, env)
    log = tmp_path / f"wharf-up-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [WHARF, "up", "--port", str(port), *args],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/api/v1/health", timeout, process)
        yield RunningWharf(url=url, process=process, env=full_env, log=log)
    finally:
        stop_group(process)

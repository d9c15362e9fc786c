"""Starting without a sandbox: loud on loopback, refused beyond it; a stop ends builds' trees.

"No sandbox" is simulated by pointing ``WHARF_SANDBOX_BWRAP`` at a program that does not exist,
never by uninstalling bubblewrap.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.gitrepos import make_repo
from tests.processes import PRIVATE_UV_CACHES, WHARF, free_port, run_wharf_up, wharf_env
from tests.sandboxing import require_bubblewrap

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

NO_BWRAP = {"WHARF_SANDBOX_BWRAP": "/nonexistent/bwrap"}


def start_and_wait(
    tmp_path: Path, *args: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``wharf up`` that is expected to refuse: it must exit by itself, quickly."""
    return subprocess.run(
        [WHARF, "up", "--port", str(free_port()), *args],
        env=wharf_env(tmp_path, env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_server_beyond_loopback_refuses_to_start_without_a_sandbox(tmp_path: Path) -> None:
    done = start_and_wait(tmp_path, "--host", "0.0.0.0", env=NO_BWRAP)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "will not start without a sandbox" in done.stderr
    assert "it listens on 0.0.0.0" in done.stderr
    assert "WHARF_SANDBOX=off" in done.stderr
    assert "Traceback" not in done.stderr


def test_required_refuses_to_start_without_a_sandbox_even_on_loopback(tmp_path: Path) -> None:
    done = start_and_wait(tmp_path, env={**NO_BWRAP, "WHARF_SANDBOX": "required"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "WHARF_SANDBOX=required" in done.stderr


def test_loopback_without_a_sandbox_starts_with_a_warning_and_health_says_so(
    tmp_path: Path,
) -> None:
    with run_wharf_up(tmp_path, env=NO_BWRAP) as wharf:
        deep = httpx.get(f"{wharf.url}/api/v1/health", params={"deep": "true"}).json()
        assert deep["status"] == "ok"
        assert deep["sandbox"]["state"] == "unavailable"
        assert "/nonexistent/bwrap" in deep["sandbox"]["detail"]
        shallow = httpx.get(f"{wharf.url}/api/v1/health").json()
        assert "sandbox" not in shallow
        log = wharf.log.read_text()
        assert "WARNING no sandbox for user code" in log


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` now, found through /proc (only our own server's tree)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def is_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


SLOW_SETUP = """\
import time
time.sleep(600)
from setuptools import setup
setup(name="slow", version="1.0", py_modules=[])
"""


def test_stopping_the_server_ends_a_running_install_and_removes_its_folders(
    tmp_path: Path,
) -> None:
    require_bubblewrap()
    url = make_repo(tmp_path / "slow", {"setup.py": SLOW_SETUP, "app.py": "print('never')\n"})
    with run_wharf_up(tmp_path, env=PRIVATE_UV_CACHES) as wharf:  # its folder goes too
        created = wharf.cli("app", "create", "--git", url)
        assert created.returncode == 0, created.stderr
        envs = tmp_path / "data" / "envs"
        deadline = time.monotonic() + 120
        tree: set[int] = set()
        while time.monotonic() < deadline:  # until setup.py runs (uv, python, deeper down)
            tree = descendants(wharf.process.pid)
            commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in tree if is_alive(pid)]
            if any(b"setup.py" in c or b"build_meta" in c for c in commands):
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"setup.py never started: {(tmp_path / 'data' / 'logs').rglob('*.log')}")
        assert list(envs.glob(".building-*"))
        # SIGTERM to the server alone, as a service manager stopping only its main process.
        os.kill(wharf.process.pid, signal.SIGTERM)
        wharf.process.wait(timeout=60)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(is_alive(pid) for pid in tree):
            time.sleep(0.2)
        assert [pid for pid in tree if is_alive(pid)] == []
        assert list(envs.glob(".building-*")) == []
        assert list(envs.glob(".install-*")) == []

"""The README's commands, run as a new user would on a fresh copy of the tree.

``make up`` runs for real in a copy of the working tree (no .venv, no uv on PATH, so the
Makefile has to bring uv in itself), and the README's tour block runs against that server.
``make test`` is what CI runs; here we check it is wired to the same install and to pytest.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.processes import free_port, group_is_gone, stop_group, wait_for_http

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

ROOT = Path(__file__).parents[2]


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [name for name in listed if (ROOT / name).is_file()]


def copy_tree(destination: Path) -> None:
    for name in tracked_files():
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)


def path_without_uv() -> str:
    """PATH minus every folder holding a ``uv``, so ``make`` must bootstrap its own."""
    folders = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(f for f in folders if f and not (Path(f) / "uv").exists())


def readme_block(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(re.escape(marker) + r"\s*```sh\n(.*?)```", text, re.S)
    assert match, f"README has no ```sh block after {marker!r}"
    return match.group(1)


def test_readme_shows_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert "make up " in text
    assert "make test " in text


def test_make_test_installs_then_runs_pytest_and_fails_on_no_tests() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert ".venv/bin/pytest" in dry_run
    assert "-eq 5" in dry_run, "pytest's exit code 5 (no tests) must fail make test"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


def test_make_up_on_a_fresh_copy_then_the_tour(tmp_path: Path) -> None:
    clone = tmp_path / "wharf"
    copy_tree(clone)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    real_home = Path.home()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHARF_", "VIRTUAL_ENV"))}
    env.update(
        PATH=path_without_uv(),
        HOME=str(tmp_path / "home"),
        WHARF_PORT=str(port),
        WHARF_DATA_DIR=str(tmp_path / "data"),
        WHARF_CONFIG_DIR=str(tmp_path / "config"),
        # Reuse the machine's download caches: this is about the steps, not the network.
        UV_CACHE_DIR=os.environ.get("UV_CACHE_DIR", str(real_home / ".cache" / "uv")),
        PIP_CACHE_DIR=os.environ.get("PIP_CACHE_DIR", str(real_home / ".cache" / "pip")),
    )
    log = tmp_path / "make-up.log"
    with log.open("wb") as out:
        make_up = subprocess.Popen(
            ["make", "up"],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_http(f"{url}/api/v1/health", 420, make_up)
        assert (clone / ".tools" / "bin" / "uv").exists(), "make did not bring in its own uv"
        assert (clone / ".venv" / "bin" / "wharf").exists()

        tour = readme_block("<!-- tour: run by tests/e2e/test_readme.py -->")
        tour = tour.replace("http://127.0.0.1:8080", url)
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", tour],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert '"status":"ok"' in result.stdout
        assert "refused: readers cannot write" in result.stdout
        assert "does not grant members/write" in result.stderr
        assert '"name": "team-a"' in result.stdout
        assert "Traceback" not in result.stderr
    finally:
        stop_group(make_up)
    assert group_is_gone(make_up.pid)
    assert "Application shutdown complete" in log.read_text()

"""In CI (CI=true) a skipped tier fails the run instead of passing silently."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_a_skipped_postgresql_tier_fails_in_ci() -> None:
    env = {k: v for k, v in os.environ.items() if k != "WHARF_TEST_DATABASE_URL"}
    env["CI"] = "true"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
         "tests/services/test_migrations.py", "-k", "postgresql"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=100,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout
    assert "a tier was skipped in CI (CI=true): WHARF_TEST_DATABASE_URL is not set" in run.stdout


def test_a_missing_chromium_fails_the_browser_tier_in_ci() -> None:
    env = dict(os.environ, CI="true", WHARF_TEST_CHROMIUM="/nonexistent/chromium")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "0",
         "tests/browser/test_console_flow.py", "-k", "keyboard"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=100,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout
    assert "a tier was skipped in CI (CI=true): Chromium is not installed" in run.stdout

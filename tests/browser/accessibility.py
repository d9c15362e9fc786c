"""axe-core in the page: inject the pinned ``node_modules/axe-core/axe.min.js`` (package.json)
and fail on serious or critical violations, naming each rule, why it matters and where."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")


def axe_script() -> Path:
    """The pinned axe-core, running ``npm ci`` first if it is missing (``make test`` has)."""
    if AXE.exists():
        return AXE
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("Node.js and npm are not installed: the axe-core checks need axe-core")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=REPO,
        check=True,
        timeout=300,
    )
    return AXE


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the console's Content-Security-Policy
        # (script-src 'self') rightly refuses an injected <script>, and stays on for the test.
        page.evaluate(axe_script().read_text())
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [v for v in result["violations"] if v.get("impact") in FAILING_IMPACTS]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        targets = ", ".join(str(node["target"]) for node in violation["nodes"][:5])
        lines.append(f"{violation['impact']}: {violation['id']}: {violation['help']} ({targets})")
    return "\n".join(lines)


def assert_accessible(page: Page, what: str) -> None:
    """Fail when axe-core finds a serious or critical violation on ``what`` (a page's name)."""
    found = serious_violations(page)
    assert not found, f"axe-core on {what} ({page.url}):\n{describe(found)}"

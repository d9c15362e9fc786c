"""Module weights: the slowest test modules start first.

Under ``--dist loadfile`` a module is the unit a worker takes, and pytest-xdist hands the units
out in collection order (``--no-loadscope-reorder`` in pyproject.toml keeps that order). A slow
module handed out last keeps one worker busy while the other idles, so the collection is sorted
by each module's recorded wall time (``tests/module_weights.json``), slowest first; a module
without a recorded time is taken as slow, so a new tier starts early. Within a module the order
stays as written.

Every run records its module times in pytest's cache (``.pytest_cache``, key
``wharf/module-seconds``); ``python -m tests.moduletimes`` writes them into the weights file.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import pytest

CACHE_KEY = "wharf/module-seconds"
WEIGHTS_FILE = Path(__file__).with_name("module_weights.json")
UNKNOWN_WEIGHT = float("inf")


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def order_by_weight(items: list[pytest.Item]) -> None:
    """Sort ``items`` in place: the heaviest modules first, each module's tests in order."""
    weights: dict[str, float] = json.loads(WEIGHTS_FILE.read_text())
    items.sort(key=lambda item: -weights.get(module_of(item.nodeid), UNKNOWN_WEIGHT))


class ModuleTimes:
    """Sums each module's setup, call and teardown times as the reports come in."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seconds[module_of(report.nodeid)] += report.duration

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        cache = getattr(session.config, "cache", None)
        if cache is None or hasattr(session.config, "workerinput") or not self.seconds:
            return
        ordered = sorted(self.seconds.items(), key=lambda item: -item[1])
        cache.set(CACHE_KEY, {module: round(seconds, 1) for module, seconds in ordered})


def write_weights(cache_dir: Path) -> None:
    """Copy the last run's module times from the cache into the weights file."""
    recorded = json.loads((cache_dir / "v" / CACHE_KEY).read_text())
    WEIGHTS_FILE.write_text(json.dumps(recorded, indent=1) + "\n")


if __name__ == "__main__":
    write_weights(Path(sys.argv[1] if len(sys.argv) > 1 else ".pytest_cache"))

"""The deep health report: each check by name, ``ok`` or failed with a line that says why.

Adding a check is one entry in :func:`deep_health`. The cheap check that load balancers call
(``/api/v1/health``) asks only :func:`check_database`.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from wharf.services.platform import Platform


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str


class Runner(Protocol):
    """A background runner: its threads either all run, or something killed one."""

    def alive(self) -> bool: ...


def check_database(platform: Platform) -> CheckResult:
    if platform.check_database():
        return CheckResult(True, "the store answers")
    return CheckResult(False, "the store does not answer (see the server log)")


def check_runner(name: str, runner: Runner | None) -> CheckResult:
    if runner is None:
        return CheckResult(False, f"the {name} has not started")
    if not runner.alive():
        return CheckResult(False, f"a thread of the {name} has stopped: restart the server")
    return CheckResult(True, f"the {name}'s threads run")


def check_free_space(platform: Platform) -> CheckResult:
    settings = platform.settings
    free_mb = shutil.disk_usage(settings.data_dir).free // (1024 * 1024)
    needed = settings.health_min_free_mb
    where = f"the data dir {settings.data_dir}"
    if free_mb < needed:
        return CheckResult(False, f"{where} has {free_mb} MiB free, less than {needed} MiB")
    return CheckResult(True, f"{where} has {free_mb} MiB free")


def deep_health(platform: Platform, runners: Mapping[str, Runner | None]) -> dict[str, CheckResult]:
    """Every check, by name. ``runners``: ``build-runner`` and ``job-runner``."""
    return {
        "database": check_database(platform),
        "build-runner": check_runner("build runner", runners.get("build-runner")),
        "job-runner": check_runner("job runner", runners.get("job-runner")),
        "disk": check_free_space(platform),
    }

"""The idle culler of notebook workbenches: a small loop that runs one culling round at a time
(the rule is :func:`wharf.services.workbench_culling.cull_idle_workbenches`)."""

from __future__ import annotations

import logging
import threading

from wharf.services.workbench_culling import cull_idle_workbenches
from wharf.services.workbench_runtime import WorkbenchRuntime

logger = logging.getLogger("wharf.workbenches")


class WorkbenchCuller:
    """Checks running workbenches every ``interval`` seconds; ``stop`` ends it."""

    def __init__(self, runtime: WorkbenchRuntime, *, interval: float) -> None:
        self._runtime = runtime
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="wharf-culler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.ident is not None:
            self._thread.join(30)

    def _loop(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                cull_idle_workbenches(self._runtime)
            except Exception:
                logger.exception("workbench culling failed; trying again later")

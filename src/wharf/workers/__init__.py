"""Background workers of the server: the build runner and the job runner.

Each is a :class:`~wharf.workers.loop.ClaimLoop` (claim the next item from the store, run it,
wait for more); the rules they follow live in ``services/``. The lifespan starts them and the
platform object holds them, so routes wake them through ``platform.build_runner`` and
``platform.job_runner``.
"""

from wharf.workers.builds import BuildRunner
from wharf.workers.jobs import JobRunner
from wharf.workers.workbenches import WorkbenchCuller

__all__ = ["BuildRunner", "JobRunner", "WorkbenchCuller"]

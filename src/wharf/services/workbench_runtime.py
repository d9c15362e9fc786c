"""Running workbenches: start (environment, then a supervised JupyterLab behind its gate),
stop, and the state the store keeps of them.

A start builds or reuses the environment and waits for JupyterLab to answer, so it runs on a
thread of its own; the API answers at once with ``Starting``. The JupyterLab process is a
one-replica revision in the app registry: the same supervision, limits, logs and route proxy
as apps, on a host route of its own that has no path route on the console's origin.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from wharf.notebooks.keys import KEY_VARIABLE
from wharf.runtime.limits import ResourceLimits
from wharf.runtime.registry import AppRegistry
from wharf.runtime.routes import AppKey, RouteOptions
from wharf.runtime.specs import Endpoint, RevisionSpec
from wharf.services import source_secrets, workbenches
from wharf.services.platform import Platform
from wharf.services.workbench_access import SIGN_IN_PATH, SignIns, WorkbenchGate
from wharf.services.workbench_processes import (
    USER_PACKAGES,
    WorkbenchCommand,
    base_environment,
    ensure_workbench_environment,
    git_environment,
    prepare_tools,
    process_spec,
)
from wharf.states import WorkbenchPhase
from wharf.store.models import Workbench

logger = logging.getLogger("wharf.workbenches")

READY_TIMEOUT = 120.0
STOP_GRACE = 10.0


@dataclass(frozen=True)
class Running:
    """What this server knows of a workbench it runs: Jupyter's key never leaves it."""

    key: AppKey
    jupyter_key: str
    """What JupyterLab admits (see :mod:`wharf.notebooks.identity`)."""
    started: float


class WorkbenchRuntime:
    """This server's workbench processes. ``close`` (at shutdown) marks them all Stopped; the
    registry's own close stops the processes."""

    def __init__(self, platform: Platform, registry: AppRegistry) -> None:
        self.platform = platform
        self.registry = registry
        self.sign_ins = SignIns()
        self._lock = threading.Lock()
        self._running: dict[int, Running] = {}
        self._last_request: dict[int, float] = {}
        self._threads: list[threading.Thread] = []
        self._closed = False

    # -- names -----------------------------------------------------------------------------

    def hostname(self, workbench: Workbench) -> str:
        label = workbenches.hostname_label(
            workbench.user.name, workbench.name, workbench.workspace.name
        )
        return f"{label}.{self.registry.apps_domain}"

    def url(self, workbench: Workbench) -> str:
        """``http://nb-...:PORT``: the workbench's own origin, on the server's port."""
        base = urlsplit(self.platform.settings.effective_public_url)
        port = f":{base.port}" if base.port else ""
        return f"{base.scheme}://{self.hostname(workbench)}{port}"

    def sign_in_url(self, workbench: Workbench) -> str:
        code = self.sign_ins.create_code(workbench.id, workbench.user_id)
        return f"{self.url(workbench)}{SIGN_IN_PATH}?code={code}"

    @staticmethod
    def key(workbench: Workbench) -> AppKey:
        # Not an app name ("nb:" cannot be one): a workbench never shadows an app's key.
        return AppKey(workbench.workspace.name, f"nb:{workbench.user.name}:{workbench.name}")

    # -- start and stop ----------------------------------------------------------------------

    def request_start(self, workbench_id: int) -> None:
        """Mark it Starting and start it on a thread (nothing to do when it runs)."""
        with self.platform.transaction() as session:
            workbench = session.get(Workbench, workbench_id)
            assert workbench is not None
            if WorkbenchPhase(workbench.phase).active:
                return
            workbenches.mark_phase(workbench, WorkbenchPhase.STARTING, "preparing its environment")
        thread = threading.Thread(
            target=self._start, args=(workbench_id,), name="wharf-workbench-start", daemon=True
        )
        with self._lock:
            if self._closed:
                return
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _start(self, workbench_id: int) -> None:
        try:
            self._run(workbench_id)
        except Exception as exc:  # reported on the workbench, for its owner to read
            logger.exception("workbench %s did not start", workbench_id)
            self._finish(workbench_id, WorkbenchPhase.FAILED, f"did not start: {exc}")

    def _run(self, workbench_id: int) -> None:
        platform = self.platform
        with platform.transaction() as session:
            workbench = session.get(Workbench, workbench_id)
            assert workbench is not None
            folder = workbenches.workbench_dir(platform.settings, workbench)
            home = workbenches.home_dir(platform.settings, workbench)
            key, hostname = self.key(workbench), self.hostname(workbench)
            console_url = (
                f"{platform.settings.effective_public_url}/w/{workbench.workspace.name}/workbenches"
            )
            owner_id, owner_name = workbench.user_id, workbench.user.name
            extra = workbench.requirements
            limits = ResourceLimits.parse(memory=workbench.memory, cpu=workbench.cpu)
            credentials = source_secrets.open_source_secret(
                session, platform.secrets, workbench.workspace, workbench.source_secret
            )
            identity = git_environment(
                workbench.user.name,
                workbench.user.email,
                credentials.username if credentials else None,
                credentials.password if credentials else None,
            )
            wharf_env = {
                "WHARF_URL": platform.settings.effective_public_url,
                "WHARF_TOKEN": workbenches.open_token(platform.secrets, workbench),
                "WHARF_WORKSPACE": workbench.workspace.name,
            }
        environment = ensure_workbench_environment(platform, extra, logger.debug)
        # Made before Jupyter starts: a PYTHONPATH folder missing when a kernel starts stays
        # unseen by its imports, even after a cell's `pip install` creates it.
        (home / USER_PACKAGES).mkdir(parents=True, exist_ok=True)
        tools = prepare_tools(folder / "tools")
        jupyter_key = secrets.token_urlsafe(32)
        env = {
            **base_environment(environment.path, home, tools),
            **identity,
            **wharf_env,
            KEY_VARIABLE: jupyter_key,
            "WHARF_USER": owner_name,
        }
        command = WorkbenchCommand(environment.path, home, tools, env)
        gate = WorkbenchGate(
            platform,
            self.sign_ins,
            workbench_id=workbench_id,
            owner_id=owner_id,
            jupyter_key=jupyter_key,
            on_request=lambda: self._note_request(workbench_id),
            console_url=console_url,
        )
        spec = RevisionSpec(
            revision="jupyterlab",
            command=lambda port: process_spec(platform, command, port),
            replicas=1,
            limits=limits,
            prefix_style="strip",
            probe_path="/api/status",
        )
        with self._lock:
            self._running[workbench_id] = Running(key, jupyter_key, time.time())
        self.registry.set_route(key, RouteOptions(hostname=hostname, gate=gate, path_route=False))
        result = self.registry.deploy(key, spec, ready_timeout=READY_TIMEOUT, crash_limit=2)
        if not result.succeeded:
            self._take_down(workbench_id, key)
            self._finish(workbench_id, WorkbenchPhase.FAILED, result.message)
            return
        if not self._finish(workbench_id, WorkbenchPhase.RUNNING, "JupyterLab answers"):
            self._take_down(workbench_id, key)  # stopped or deleted while it started

    def _finish(self, workbench_id: int, phase: WorkbenchPhase, message: str) -> bool:
        """Record the outcome of a start; False when the workbench no longer wants to run."""
        with self.platform.transaction() as session:
            workbench = session.get(Workbench, workbench_id)
            if workbench is None:
                return False
            if phase is WorkbenchPhase.RUNNING and workbench.phase != WorkbenchPhase.STARTING:
                return False
            workbenches.mark_phase(workbench, phase, message)
            if phase is WorkbenchPhase.RUNNING:
                workbench.last_activity = datetime.now(UTC)
            return True

    def _take_down(self, workbench_id: int, key: AppKey) -> None:
        self.registry.set_route(key, None)
        self.registry.stop_app(key, drain_timeout=0.5, stop_grace=STOP_GRACE)
        with self._lock:
            self._running.pop(workbench_id, None)
            self._last_request.pop(workbench_id, None)

    def stop(self, workbench_id: int, message: str = "stopped") -> None:
        """Stop its JupyterLab (the home folder stays) and record why."""
        with self.platform.transaction() as session:
            workbench = session.get(Workbench, workbench_id)
            assert workbench is not None
            key = self.key(workbench)
            if workbench.phase != WorkbenchPhase.FAILED:
                workbenches.mark_phase(workbench, WorkbenchPhase.STOPPING, "stopping")
        self._take_down(workbench_id, key)
        with self.platform.transaction() as session:
            workbench = session.get(Workbench, workbench_id)
            if workbench is not None and workbench.phase != WorkbenchPhase.FAILED:
                workbenches.mark_phase(workbench, WorkbenchPhase.STOPPED, message)

    # -- what the culler and the gate read ---------------------------------------------------

    def _note_request(self, workbench_id: int) -> None:
        self._last_request[workbench_id] = time.time()

    def running(self) -> dict[int, Running]:
        with self._lock:
            return dict(self._running)

    def endpoint(self, workbench_id: int) -> Endpoint | None:
        """Where its JupyterLab answers on loopback (for the culler), if it runs."""
        found = self.running().get(workbench_id)
        if found is None:
            return None
        return self.registry.serving_endpoint(found.key)

    def last_request(self, workbench_id: int) -> float | None:
        return self._last_request.get(workbench_id)

    # -- the server's start and stop ---------------------------------------------------------

    def reset_states(self, message: str) -> int:
        """Every workbench this store says runs is Stopped (nothing runs at a server's start,
        nor after its stop): ready to start again."""
        with self.platform.transaction() as session:
            found = workbenches.list_active(session)
            for workbench in found:
                workbenches.mark_phase(workbench, WorkbenchPhase.STOPPED, message)
            return len(found)

    def close(self) -> None:
        """At shutdown, before the registry stops the processes: no new starts."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=0.1)

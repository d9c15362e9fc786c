"""One supervised replica: a process in its own session, probed until ready, restarted on exit.

Each replica has one thread that does everything to its process — spawn, probe, watch, stop,
reap — so no two threads ever race over a pid. Threads rather than asyncio because the work is
blocking by nature (``waitid``, probes, file reads), because callers are both the server's
event loop and plain threads (build workers, tests, ``wharf serve``), and because the kernel's
parent-death signal, which stops replicas when Wharf itself is killed, follows the thread that
forked them: a thread that lives exactly as long as its replica is what that needs.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wharf.logfiles import LogRotation, rotate_if_large
from wharf.runtime import procfs
from wharf.runtime.confinement import Confinement
from wharf.runtime.launcher import build_launch_argv
from wharf.runtime.limits import EnforcedLimits, LimitSupport, ResourceLimits
from wharf.runtime.specs import Backoff, CommandFactory, Endpoint, Launchable
from wharf.states import ReplicaState as ReplicaState  # also named here, beside ReplicaStatus

logger = logging.getLogger("wharf.replicas")

LOOPBACK = "127.0.0.1"
_TICK = 0.05
_LOG_TAIL_BYTES = 16384


@dataclass(frozen=True)
class ExitRecord:
    """How a replica's process ended."""

    reason: str
    """``OOMKilled``, ``Error`` (non-zero exit), ``Completed`` (exit 0), ``Killed`` (signal)
    or ``StartFailed`` (could not be spawned)."""
    message: str
    code: int | None
    signal: str | None
    at: float
    """Wall-clock time (``time.time()``)."""


@dataclass(frozen=True)
class ReplicaStatus:
    index: int
    state: ReplicaState
    pid: int | None
    port: int | None
    restarts: int
    last_exit: ExitRecord | None
    log_path: Path
    limits: EnforcedLimits


def pick_free_port(host: str = LOOPBACK) -> int:
    """A port nobody listens on right now (the replica binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def probe_http(endpoint: Endpoint, path: str, timeout: float) -> bool:
    """Whether anything answers HTTP there: any status counts, as the server is up."""
    connection = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"User-Agent": "wharf-probe"})
        connection.getresponse().read()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()
    return True


@dataclass
class _Run:
    """One spawned process of the replica."""

    process: subprocess.Popen[bytes]
    endpoint: Endpoint
    confinement: Confinement
    started: float
    log_offset: int


class Replica:
    """One replica of a revision, supervised by its own thread from ``start`` to ``stop``."""

    def __init__(
        self,
        *,
        index: int,
        name: str,
        command: CommandFactory,
        limits: ResourceLimits,
        support: LimitSupport,
        log_path: Path,
        backoff: Backoff,
        probe_path: str = "/",
        probe_timeout: float = 1.0,
        on_change: Callable[[], None] = lambda: None,
        on_exit: Callable[[Endpoint], None] = lambda endpoint: None,
        log_rotation: LogRotation | None = None,
    ) -> None:
        self.index = index
        self._log_rotation = log_rotation
        self.name = name
        self.log_path = log_path
        self._command = command
        self._limits = limits
        self._support = support
        self._backoff = backoff
        self._probe_path = probe_path
        self._probe_timeout = probe_timeout
        self._on_change = on_change
        self._on_exit = on_exit
        self._lock = threading.Lock()
        self._stop_requested = threading.Event()
        self._stop_deadline = 0.0
        self._state = ReplicaState.STARTING
        self._run: _Run | None = None
        self._ready = False
        self._restarts = 0
        self._last_exit: ExitRecord | None = None
        self._enforced = support.enforce(limits)
        self._thread = threading.Thread(target=self._supervise, name=f"replica-{name}", daemon=True)

    # -- what other threads call ---------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def request_stop(self, grace: float) -> None:
        """Ask for a stop: SIGTERM to the process group, SIGKILL after ``grace`` seconds."""
        with self._lock:
            if not self._stop_requested.is_set():
                self._stop_deadline = time.monotonic() + grace
                self._stop_requested.set()

    def join(self, timeout: float) -> bool:
        """Wait for the supervising thread to finish; False if it is still running."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def endpoint(self) -> Endpoint | None:
        """Where to send traffic, while the replica is ready."""
        run = self._run
        return run.endpoint if self._ready and run is not None else None

    def status(self) -> ReplicaStatus:
        with self._lock:
            run = self._run
            return ReplicaStatus(
                index=self.index,
                state=self._state,
                pid=None if run is None else run.process.pid,
                port=None if run is None else run.endpoint.port,
                restarts=self._restarts,
                last_exit=self._last_exit,
                log_path=self.log_path,
                limits=self._enforced,
            )

    # -- the supervising thread ----------------------------------------------------------

    def _set_state(self, state: ReplicaState, *, ready: bool = False) -> None:
        with self._lock:
            self._state = state
            self._ready = ready
        self._on_change()

    def _supervise(self) -> None:
        failures = 0
        try:
            while not self._stop_requested.is_set():
                outcome = self._run_once()
                if outcome is None:  # stopped on purpose
                    break
                ended, ran_for = outcome
                failures = 1 if ran_for >= self._backoff.reset_after else failures + 1
                delay = self._backoff.delay(failures)
                with self._lock:
                    self._last_exit = ended
                oom = ended.reason == "OOMKilled"
                self._set_state(ReplicaState.OOM_KILLED if oom else ReplicaState.CRASHED)
                logger.warning(
                    "replica %s %s; restarting in %.1f s", self.name, ended.message, delay
                )
                if self._stop_requested.wait(delay):
                    break
                with self._lock:
                    self._restarts += 1
        except Exception:  # a bug here must not leave a process unsupervised
            logger.exception("supervising replica %s failed; stopping it", self.name)
            run = self._run
            if run is not None:
                self._clean_up(run)
        finally:
            with self._lock:
                self._run = None
            self._set_state(ReplicaState.STOPPED)

    def _run_once(self) -> tuple[ExitRecord, float] | None:
        """Start the process and watch it to its end: (how it ended, how long it ran), or
        None when it was stopped on purpose."""
        run = self._spawn()
        if run is None or isinstance(run, ExitRecord):
            return None if run is None else (run, 0.0)
        try:
            ended = self._watch(run)
        finally:
            self._set_state(self._state, ready=False)  # no traffic while it is cleaned up
            self._report_exit(run.endpoint)
            self._clean_up(run)
            with self._lock:
                self._run = None
        return None if ended is None else (ended, time.monotonic() - run.started)

    def _spawn(self) -> _Run | ExitRecord | None:
        """Start the process; an ``ExitRecord`` when it cannot be, ``None`` when stopping."""
        try:
            endpoint = Endpoint(LOOPBACK, pick_free_port(LOOPBACK))
            spec = self._command(endpoint.port)
        except Exception as exc:  # the run command is the build's code: report, back off, retry
            return _start_failed(f"the run command failed: {exc}")
        confinement = Confinement(self._support, self._limits, self.name)
        try:
            run = self._launch(spec, endpoint, confinement)
        except OSError as exc:
            confinement.release()
            return _start_failed(f"cannot start in {spec.cwd}: {exc.strerror or exc}")
        if run is None:
            confinement.release()
            return None
        restarted = self._restarts > 0
        self._set_state(ReplicaState.RESTARTING if restarted else ReplicaState.STARTING)
        return run

    def _launch(
        self, spec: Launchable, endpoint: Endpoint, confinement: Confinement
    ) -> _Run | None:
        argv = build_launch_argv(
            list(spec.argv),
            parent=os.getpid(),
            join=confinement.join_files,
            rlimit_data=confinement.rlimit_data,
        )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            line = f"--- wharf {stamp}: starting replica {self.index} on port {endpoint.port}\n"
            log.write(line.encode())
            log.flush()
            offset = log.tell()
            with self._lock:  # a stop asked for from now on will see this process
                if self._stop_requested.is_set():
                    return None
                process = subprocess.Popen(
                    argv,
                    env=dict(spec.env),
                    cwd=spec.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    close_fds=True,
                )
                self._run = _Run(process, endpoint, confinement, time.monotonic(), offset)
                self._enforced = confinement.enforced
                return self._run

    def _watch(self, run: _Run) -> ExitRecord | None:
        """Probe until ready, then watch until the process ends or a stop is asked for."""
        pid = run.process.pid
        while True:
            if _has_exited(pid):
                return self._describe_exit(run)
            if self._stop_requested.is_set():
                self._terminate(run)
                return None
            breach = run.confinement.detect_memory_breach(pid)
            if breach is not None:
                self._kill_everything(run)
                return ExitRecord("OOMKilled", breach, None, "SIGKILL", time.time())
            if not self._ready and probe_http(run.endpoint, self._probe_path, self._probe_timeout):
                self._set_state(ReplicaState.READY, ready=True)
                logger.info("replica %s is ready on port %d", self.name, run.endpoint.port)
            # The process appends through its own descriptor: copy-truncate keeps it writing.
            if rotate_if_large(self.log_path, self._log_rotation):
                run.log_offset = 0
            self._stop_requested.wait(_TICK if not self._ready else 2 * _TICK)

    def _report_exit(self, endpoint: Endpoint) -> None:
        try:
            self._on_exit(endpoint)
        except Exception:  # a listener's bug must not leave the process unsupervised
            logger.exception("reporting the end of replica %s failed", self.name)

    def _terminate(self, run: _Run) -> None:
        with self._lock:
            self._ready = False
        self._on_change()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(run.process.pid, signal.SIGTERM)
        while not _has_exited(run.process.pid) and time.monotonic() < self._stop_deadline:
            time.sleep(_TICK)
        self._kill_everything(run)

    def _kill_everything(self, run: _Run) -> None:
        """SIGKILL the session and the cgroup: nothing of the replica may outlive it."""
        procfs.kill_session(run.process.pid)
        run.confinement.kill_all()

    def _clean_up(self, run: _Run) -> None:
        """After the main process ended: kill what it left behind, reap, drop its cgroup."""
        self._kill_everything(run)
        run.process.wait()
        deadline = time.monotonic() + 5
        while run.confinement.list_pids() and time.monotonic() < deadline:
            run.confinement.kill_all()
            time.sleep(_TICK)
        run.confinement.release()

    def _describe_exit(self, run: _Run) -> ExitRecord:
        # The pid is still a zombie here (waitid with WNOWAIT), so nothing has reused it yet.
        result = os.waitid(os.P_PID, run.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        code = signame = None
        if result is not None and result.si_code == os.CLD_EXITED:
            code = result.si_status
        elif result is not None:
            signame = signal.Signals(result.si_status).name
        tail = self._read_log_tail(run)
        memory = run.confinement.explain_exit(tail)
        now = time.time()
        if memory is not None:
            return ExitRecord("OOMKilled", memory, code, signame, now)
        if signame is not None:
            return ExitRecord("Killed", f"killed by {signame}", code, signame, now)
        last_line = _last_line(tail)
        detail = f": {last_line}" if last_line else ""
        reason = "Completed" if code == 0 else "Error"
        return ExitRecord(reason, f"exited with code {code}{detail}", code, None, now)

    def _read_log_tail(self, run: _Run) -> str:
        try:
            with self.log_path.open("rb") as log:
                size = log.seek(0, os.SEEK_END)
                start = run.log_offset if run.log_offset <= size else 0  # rotated meanwhile
                log.seek(max(start, size - _LOG_TAIL_BYTES))
                return log.read().decode(errors="replace")
        except OSError:
            return ""


def _has_exited(pid: int) -> bool:
    """Whether the child ended, without reaping it (so its pid stays reserved)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt))(?::.*)?$")
_WHERE = re.compile(r'^File "([^"]+)", line (\d+)')


def _last_line(text: str) -> str:
    """Why the process ended, from its output: the app's own exception (the SyntaxError in
    ``prediction.py``) rather than what its server said about it afterwards (gunicorn's
    ``Worker failed to boot``); else the last line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    where = None
    found = None
    for line in lines:
        place = _WHERE.match(line)
        if place:
            where = f"{os.path.basename(place.group(1))}, line {place.group(2)}"
        match = _EXCEPTION.match(line)
        if match and not match.group(1).startswith("gunicorn."):
            found = f"{line} ({where})" if where else line
    if found is not None:
        return found[:300]
    return lines[-1][:200] if lines else ""


def _start_failed(message: str) -> ExitRecord:
    return ExitRecord("StartFailed", message, None, None, time.time())

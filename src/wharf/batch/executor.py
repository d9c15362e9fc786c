"""Where mini-batches run: the executor interface, and the local executor (worker processes here).

An executor places tasks on long-lived workers, enforces the per-call timeout, and reports what
happened; the engine owns everything else (the plan, retries, the state store, staging, output),
so that the Dask executor only has to place the same tasks on another machine's workers.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from wharf.batch.state import Failure
from wharf.sandbox import NO_SANDBOX, Sandbox, SandboxProfile

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
"""Run by file path under the deployment's interpreter, where the ``wharf`` package is absent."""

STOP_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class Task:
    """One attempt of one mini-batch: ``message`` is the worker protocol's ``task`` body."""

    batch_id: int
    attempt: int
    message: Mapping[str, Any]


@dataclass(frozen=True)
class Started:
    """A worker began the task's user call (the timeout counts from here)."""

    batch_id: int
    attempt: int


@dataclass(frozen=True)
class Finished:
    """The task ended: ``failure`` is None when it succeeded."""

    batch_id: int
    attempt: int
    rows: int = 0
    staged_path: str | None = None
    failure: Failure | None = None


Event = Started | Finished


class WorkerStartFailed(Exception):
    """A worker could not load the deployment's code or run ``init()``: no task can succeed."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.describe(None))
        self.failure = failure


@dataclass(frozen=True)
class WorkerLaunch:
    """How to start one worker: the deployment's interpreter, the config message, its env."""

    interpreter: str
    config: Mapping[str, Any]
    env: Mapping[str, str]
    cwd: str
    log_path: Path
    tag: str
    """Put on the worker's command line so that its processes can be found (``--job <tag>``)."""
    call: str = "run()"
    """What a task calls, for timeout messages."""
    sandbox: Sandbox = field(default=NO_SANDBOX)
    profile: SandboxProfile | None = None
    """What the worker may see: its environment, code and inputs read-only, its outputs."""

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """``argv`` as it runs in the worker's sandbox (itself when there is none)."""
        profile = self.profile or SandboxProfile(cwd=Path(self.cwd))
        return self.sandbox.command(profile, argv)


class Executor(Protocol):
    """Places tasks on workers. Used from one thread; ``cancel`` may not block for long."""

    def start(self) -> None:
        """Start the workers (``init()`` runs in them; tasks may be submitted at once)."""
        ...

    def idle_slots(self) -> int:
        """How many more tasks can be submitted now."""
        ...

    def submit(self, task: Task) -> None:
        """Hand a task to an idle worker."""
        ...

    def wait(self, timeout: float) -> list[Event]:
        """Events that happened within ``timeout`` seconds (may be empty). Raises
        ``WorkerStartFailed`` when a worker cannot start."""
        ...

    def cancel(self) -> None:
        """Kill every worker now; running tasks are abandoned."""
        ...

    def close(self) -> None:
        """Stop the workers after their current task (killing them after a grace period)."""
        ...


@dataclass
class _Worker:
    name: str
    process: subprocess.Popen[bytes]
    buffer: bytes = b""
    ready: bool = False
    task: Task | None = None
    started_at: float | None = None


class LocalExecutor:
    """``processes`` worker processes on this machine, each in its own process group."""

    def __init__(self, launch: WorkerLaunch, processes: int, timeout: float | None) -> None:
        self.launch = launch
        self.processes = processes
        self.timeout = timeout
        self._workers: list[_Worker] = []
        self._selector = selectors.DefaultSelector()

    def start(self) -> None:
        self._workers = [self._spawn(f"worker-{n + 1}") for n in range(self.processes)]

    def idle_slots(self) -> int:
        return sum(1 for worker in self._workers if worker.task is None)

    def submit(self, task: Task) -> None:
        worker = next(worker for worker in self._workers if worker.task is None)
        worker.task = task
        ids = {"batch_id": task.batch_id, "attempt": task.attempt}
        self._send(worker, {"type": "task", **task.message, **ids})

    def wait(self, timeout: float) -> list[Event]:
        now = time.monotonic()
        deadlines = [
            worker.started_at + self.timeout
            for worker in self._workers
            if worker.started_at is not None and self.timeout is not None
        ]
        if deadlines:
            timeout = max(0.0, min(timeout, min(deadlines) - now))
        events: list[Event] = []
        for key, _ in self._selector.select(timeout):
            worker: _Worker = key.data
            chunk = os.read(key.fd, 1 << 16)
            if not chunk:
                events.extend(self._handle_exit(worker))
                continue
            worker.buffer += chunk
            while b"\n" in worker.buffer:
                line, _, worker.buffer = worker.buffer.partition(b"\n")
                events.extend(self._handle_message(worker, json.loads(line)))
        events.extend(self._enforce_timeout())
        return events

    def cancel(self) -> None:
        for worker in self._workers:
            self._kill(worker)
        self._workers = []

    def close(self) -> None:
        for worker in self._workers:
            self._send(worker, {"type": "stop"})
            with suppress(OSError):
                self._stdin(worker).close()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in self._workers:
            with suppress(subprocess.TimeoutExpired):
                worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            self._kill(worker)
        self._workers = []
        self._selector.close()

    @property
    def pids(self) -> list[int]:
        """Process ids of the live workers (for tests and diagnostics)."""
        return [worker.process.pid for worker in self._workers]

    def _spawn(self, name: str) -> _Worker:
        with self.launch.log_path.open("ab") as log:
            argv = [self.launch.interpreter, str(WORKER_SCRIPT), "serve", "--job", self.launch.tag]
            process = subprocess.Popen(
                self.launch.wrap(argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=dict(self.launch.env),
                cwd=self.launch.cwd,
                start_new_session=True,  # its own group: a timeout kills run()'s children too
            )
        worker = _Worker(name=name, process=process)
        stdout = process.stdout
        assert stdout is not None
        os.set_blocking(stdout.fileno(), False)
        self._selector.register(stdout.fileno(), selectors.EVENT_READ, worker)
        self._send(worker, {"type": "config", "worker": name, **self.launch.config})
        return worker

    def _replace(self, worker: _Worker) -> None:
        self._kill(worker)
        index = self._workers.index(worker)
        self._workers[index] = self._spawn(worker.name)

    def _handle_message(self, worker: _Worker, message: dict[str, Any]) -> list[Event]:
        kind = message["type"]
        if kind == "ready":
            worker.ready = True
            return []
        if kind == "init_failed":
            raise WorkerStartFailed(_failure_from_message(message["error"]))
        task = worker.task
        if task is None or (message["batch_id"], message["attempt"]) != (
            task.batch_id,
            task.attempt,
        ):
            return []  # cannot happen with one task per worker; never trust it blindly
        if kind == "started":
            worker.started_at = time.monotonic()
            return [Started(task.batch_id, task.attempt)]
        worker.task, worker.started_at = None, None
        if kind == "done":
            return [Finished(task.batch_id, task.attempt, message["rows"], message["staged_path"])]
        failure = _failure_from_message(message["error"])
        return [Finished(task.batch_id, task.attempt, failure=failure)]

    def _handle_exit(self, worker: _Worker) -> list[Event]:
        code = worker.process.wait()
        how = describe_exit_code(code)
        if not worker.ready:
            raise WorkerStartFailed(Failure("worker-died", "its start", "", how, "", None))
        task = worker.task
        self._replace(worker)
        if task is None:
            return []
        failure = Failure("worker-died", self.launch.call, "", how, "", None)
        return [Finished(task.batch_id, task.attempt, failure=failure)]

    def _enforce_timeout(self) -> list[Event]:
        if self.timeout is None:
            return []
        events: list[Event] = []
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.started_at is None or worker.task is None:
                continue
            if now - worker.started_at > self.timeout:
                task = worker.task
                self._replace(worker)
                failure = Failure("timeout", self.launch.call, "", f"{self.timeout:g} s", "", None)
                events.append(Finished(task.batch_id, task.attempt, failure=failure))
        return events

    def _send(self, worker: _Worker, message: Mapping[str, Any]) -> None:
        # A dead worker shows up as EOF on its stdout, which ``wait`` handles.
        with suppress(BrokenPipeError, ValueError):
            stdin = self._stdin(worker)
            stdin.write(json.dumps(message).encode() + b"\n")
            stdin.flush()

    def _stdin(self, worker: _Worker) -> IO[bytes]:
        stdin = worker.process.stdin
        assert stdin is not None
        return stdin

    def _kill(self, worker: _Worker) -> None:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait()
        stdout = worker.process.stdout
        if stdout is not None and not stdout.closed:
            with suppress(KeyError, ValueError):
                self._selector.unregister(stdout.fileno())
            stdout.close()
        with suppress(OSError):
            self._stdin(worker).close()


def describe_exit_code(code: int) -> str:
    """``killed by SIGKILL`` or ``exit code 1``, in words."""
    if code < 0:
        name = signal.Signals(-code).name
        hint = ", often the out-of-memory killer" if -code == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    return f"exit code {code}"


def _failure_from_message(error: Mapping[str, Any]) -> Failure:
    return Failure(
        kind="error",
        call=error["call"],
        exception=error["exception"],
        message=error["message"],
        traceback=error["traceback"],
        where=error["where"],
    )

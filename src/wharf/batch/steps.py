"""Running a pipeline job: each step a process in its own environment, in dependency order, with
its own log. A failed step fails the job with that step's root cause; the steps after it do not
run. Every step process starts in :func:`launch_step`, the one place user commands are launched.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from wharf.batch.engine import JobProgress, JobResult
from wharf.batch.joblog import JobLog
from wharf.batch.launch import build_worker_env
from wharf.batch.pipelines import Pipeline, PipelineStep, render_command
from wharf.sandbox import NO_SANDBOX, Sandbox, SandboxProfile

POLL_SECONDS = 0.2
STOP_GRACE_SECONDS = 10.0
_TAIL_LINES = 20
_COPIED_LINES = 200


@dataclass(frozen=True)
class StepRun:
    """What a step needs on this machine: its code folder and its environment's interpreter."""

    code_dir: Path
    interpreter: Path


@dataclass
class StepState:
    name: str
    status: str = "NotStarted"
    """NotStarted, Running, Completed, Failed, Canceled or Skipped."""
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    log: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
            "log": self.log,
        }


@dataclass(frozen=True)
class PipelineJob:
    job_id: str
    pipeline: Pipeline
    steps: Mapping[str, StepRun]
    job_dir: Path
    inputs: Mapping[str, Any]
    """Parent inputs: a local path (data) or a value (literal)."""
    outputs: Mapping[str, Path]
    """Local paths of the parent outputs and of the kept step outputs (``step.output``)."""
    environment_variables: Mapping[str, str] = field(default_factory=dict)
    model_dir: Path | None = None
    sandbox: Sandbox = field(default=NO_SANDBOX)


def step_profile(
    job: PipelineJob, step: PipelineStep, run: StepRun, writable: list[Path]
) -> SandboxProfile:
    """What a step sees: its environment and code, the job's data inputs, the outputs of the
    steps it reads and the model, read-only; its own outputs writable; nothing else of the
    server (a private /tmp besides)."""
    inputs = [Path(value) for value in job.inputs.values() if isinstance(value, Path | str)]
    inputs += [
        job.outputs[f"{binding.step}.{binding.name}"]
        for binding in step.inputs.values()
        if binding.kind == "step_output"
    ]
    readable = [path for path in inputs if path.is_absolute() and path.exists()]
    if job.model_dir is not None:
        readable += sorted({job.model_dir, job.model_dir.resolve()})
    return SandboxProfile(
        cwd=run.code_dir,
        read_only=(run.interpreter.parent.parent, run.code_dir, *readable),
        writable=tuple(writable),
    )


def launch_step(
    argv: list[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log: IO[bytes],
    sandbox: Sandbox = NO_SANDBOX,
    profile: SandboxProfile | None = None,
) -> subprocess.Popen[bytes]:
    """Start one step's process: every pipeline step starts here, in its sandbox."""
    return subprocess.Popen(
        sandbox.command(profile or SandboxProfile(cwd=cwd), argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def run_pipeline(
    job: PipelineJob,
    *,
    cancel: threading.Event,
    on_steps: Callable[[list[dict[str, Any]]], None],
) -> JobResult:
    states = {step.name: StepState(step.name) for step in job.pipeline.steps}
    log = JobLog(job.job_dir / "job.log")
    done = 0
    for step in job.pipeline.steps:
        state = states[step.name]
        state.log = str(job.job_dir / "steps" / f"{step.name}.log")
        state.status, state.started_at = "Running", time.time()
        on_steps([s.to_json() for s in states.values()])
        log.write(f"step {step.name!r} starting")
        outcome, error = _run_step(job, step, Path(state.log), cancel)
        state.status, state.finished_at, state.error = outcome, time.time(), error
        _copy_log(Path(state.log), step.name, log)
        if outcome != "Completed":
            for later in states.values():
                if later.status == "NotStarted":
                    later.status = "Skipped"
            on_steps([s.to_json() for s in states.values()])
            if outcome == "Canceled":
                log.write("job cancelled")
                return _result("cancelled", None, len(states), done)
            message = f"step {step.name!r} failed: {error}"
            log.write(f"job failed: {message}")
            return _result("failed", message, len(states), done)
        done += 1
        log.write(f"step {step.name!r} completed")
        on_steps([s.to_json() for s in states.values()])
    return _result("completed", None, len(states), done)


def _run_step(
    job: PipelineJob, step: PipelineStep, log_path: Path, cancel: threading.Event
) -> tuple[str, str | None]:
    run = job.steps[step.name]
    values = _values(job, step)
    argv = render_command(step.command, values)
    env = build_worker_env(
        run.interpreter,
        job.environment_variables,
        model_dir=job.model_dir,
        output_dir=job.job_dir / "outputs",
    )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as handle:
        handle.write(f"$ {' '.join(argv)}\n".encode())
        handle.flush()
        try:
            profile = step_profile(job, step, run, _writable(job, step))
            process = launch_step(
                argv, cwd=run.code_dir, env=env, log=handle, sandbox=job.sandbox, profile=profile
            )
        except OSError as exc:
            return "Failed", f"the command could not start: {exc.strerror or exc}"
        while process.poll() is None:
            if cancel.wait(POLL_SECONDS):
                _stop(process)
                return "Canceled", None
    if process.returncode != 0:
        return "Failed", f"exit code {process.returncode}: {_last_line(log_path)}"
    return "Completed", None


def _values(job: PipelineJob, step: PipelineStep) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for name, binding in step.inputs.items():
        if binding.kind == "parent_input":
            value = job.inputs.get(binding.name)
        elif binding.kind == "step_output":
            value = job.outputs[f"{binding.step}.{binding.name}"]
        else:
            value = binding.value
        values[f"inputs.{name}"] = None if value is None else _text(value)
    for name, target in step.outputs.items():
        path = job.outputs[target.name if target is not None else f"{step.name}.{name}"]
        declared = job.pipeline.outputs.get(target.name) if target is not None else None
        (path.parent if declared and declared.type == "uri_file" else path).mkdir(
            parents=True, exist_ok=True
        )
        values[f"outputs.{name}"] = str(path)
    return values


def _writable(job: PipelineJob, step: PipelineStep) -> list[Path]:
    """The folders a step writes: the job's outputs folder and its own outputs (made by
    ``_values`` before the step starts)."""
    folders = [job.job_dir / "outputs"]
    folders[0].mkdir(parents=True, exist_ok=True)
    for name, target in step.outputs.items():
        path = job.outputs[target.name if target is not None else f"{step.name}.{name}"]
        folders.append(path if path.is_dir() else path.parent)
    return [folder for folder in folders if folder.is_dir()]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, 15)
        process.wait(timeout=STOP_GRACE_SECONDS)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        process.wait()


def _copy_log(step_log: Path, name: str, log: JobLog) -> None:
    """The step's own log, also in the job's log (what 'wharf job stream' shows), marked."""
    if step_log.is_file():
        for line in step_log.read_text(errors="replace").splitlines()[-_COPIED_LINES:]:
            log.write(f"[{name}] {line}")


def _last_line(log_path: Path) -> str:
    """The step's root cause: the last non-empty line it printed (a traceback's last line)."""
    lines = log_path.read_text(errors="replace").splitlines()[-_TAIL_LINES:]
    for line in reversed(lines):
        if line.strip() and not line.startswith("$ "):
            return line.strip()
    return "no output"


def _result(status: Any, error: str | None, total: int, done: int) -> JobResult:
    progress = JobProgress(
        mini_batches_total=total,
        mini_batches_done=done,
        mini_batches_failed=int(status == "failed"),
        items_total=total,
        items_done=done,
        items_failed=int(status == "failed"),
    )
    return JobResult(status=status, progress=progress, error=error)

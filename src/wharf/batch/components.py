"""Component deployments: a Python function with typed inputs and outputs, called once per job.

The function receives literal inputs as typed values, data inputs as local paths, and one local
path per output to write into. Literals are checked here, before any process starts, so a bad
value is a clear ``Invalid`` naming the input (``input 'epochs' must be an integer, got 'abc'``).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from wharf.batch.engine import ExecutorFactory, JobProgress, JobResult, JobStatus
from wharf.batch.executor import (
    Executor,
    Finished,
    LocalExecutor,
    Task,
    WorkerLaunch,
    WorkerStartFailed,
)
from wharf.batch.joblog import JobLog
from wharf.batch.launch import build_worker_env, check_interpreter
from wharf.batch.settings import LoggingLevel, describe_validation_error
from wharf.errors import Invalid
from wharf.logfiles import LogRotation

InputType = Literal["uri_file", "uri_folder", "string", "boolean", "number", "integer"]
OutputType = Literal["uri_file", "uri_folder"]

_ENTRY = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


class ComponentInput(BaseModel):
    """A declared input of a component."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: InputType
    optional: bool = False
    default: Any = None
    description: str | None = None


class ComponentOutput(BaseModel):
    """A declared output: a folder to write files into, or the path of one file to write."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: OutputType = "uri_folder"
    description: str | None = None


class ComponentSpec(BaseModel):
    """What a component deployment runs: ``entry`` is ``module:function`` in its code folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entry: str
    inputs: dict[str, ComponentInput] = Field(default_factory=dict)
    outputs: dict[str, ComponentOutput] = Field(default_factory=dict)

    @field_validator("entry")
    @classmethod
    def _check_entry(cls, value: str) -> str:
        if not _ENTRY.fullmatch(value):
            raise ValueError("must be module:function, e.g. train:main")
        return value


def parse_component_spec(data: Mapping[str, Any]) -> ComponentSpec:
    """Validate a component declaration, raising ``Invalid`` that names the broken field."""
    try:
        return ComponentSpec.model_validate(dict(data))
    except ValidationError as exc:
        raise Invalid(describe_validation_error(exc), code="invalid-component") from None


def coerce_component_inputs(spec: ComponentSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """The function's keyword arguments for the given input values: literals converted to their
    declared type, data inputs checked to be existing local paths. Raises ``Invalid``."""
    unknown = sorted(set(values) - set(spec.inputs))
    if unknown:
        takes = ", ".join(spec.inputs) or "no inputs"
        raise Invalid(f"the component has no input {unknown[0]!r} (it takes {takes})")
    arguments: dict[str, Any] = {}
    for name, declared in spec.inputs.items():
        if name in values and values[name] is not None:
            arguments[name] = coerce_input(name, declared.type, values[name])
        elif declared.default is not None:
            arguments[name] = coerce_input(name, declared.type, declared.default)
        elif declared.optional:
            arguments[name] = None
        else:
            raise Invalid(f"input {name!r} is required")
    return arguments


def coerce_input(name: str, kind: InputType, value: Any) -> Any:
    """One input value as its declared type."""
    if kind in ("uri_file", "uri_folder"):
        return _check_path(name, kind, value)
    if kind == "string":
        if isinstance(value, str | int | float | bool):
            return str(value)
        raise Invalid(f"input {name!r} must be a string, got {value!r}")
    if kind == "boolean":
        return _to_boolean(name, value)
    if kind == "integer":
        return _to_integer(name, value)
    return _to_number(name, value)


def _check_path(name: str, kind: InputType, value: Any) -> str:
    if not isinstance(value, str | Path):
        raise Invalid(f"input {name!r} must be a path to a {kind}, got {value!r}")
    path = Path(value)
    if kind == "uri_file" and not path.is_file():
        raise Invalid(f"input {name!r} must be a file, but {path} is not one")
    if kind == "uri_folder" and not path.is_dir():
        raise Invalid(f"input {name!r} must be a folder, but {path} is not one")
    return str(path)


def _to_boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise Invalid(f"input {name!r} must be a boolean (true or false), got {value!r}")


def _to_integer(name: str, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise Invalid(f"input {name!r} must be an integer, got {value!r}")


def _to_number(name: str, value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise Invalid(f"input {name!r} must be a number, got {value!r}") from None
    else:
        raise Invalid(f"input {name!r} must be a number, got {value!r}")
    if not math.isfinite(number):
        raise Invalid(f"input {name!r} must be a finite number, got {value!r}")
    return number


@dataclass(frozen=True)
class ComponentJob:
    """One call of a component. ``outputs`` maps each declared output to a local path (a folder
    for ``uri_folder``, a file for ``uri_file``); unmapped outputs go under ``job_dir/outputs``."""

    job_id: str
    spec: ComponentSpec
    code_dir: Path
    interpreter: Path
    job_dir: Path
    inputs: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Path] = field(default_factory=dict)
    environment_variables: Mapping[str, str] = field(default_factory=dict)
    logging_level: LoggingLevel = "info"
    model_dir: Path | None = None
    log_rotation: LogRotation | None = None
    """When the job log is rotated (never, when None)."""

    @property
    def log_path(self) -> Path:
        return self.job_dir / "job.log"

    def output_path(self, name: str) -> Path:
        return self.outputs.get(name, self.job_dir / "outputs" / name)


def run_component(
    job: ComponentJob,
    *,
    cancel: threading.Event | None = None,
    executor_factory: ExecutorFactory = LocalExecutor,
) -> JobResult:
    """Call the component's function once in a worker of the deployment's environment.

    There is no per-call timeout and no retry (a component may run for hours and write partial
    outputs); a resumed component job calls the function again from the start.
    """
    cancel = cancel or threading.Event()
    arguments = coerce_component_inputs(job.spec, job.inputs)
    check_interpreter(job.interpreter)
    job.job_dir.mkdir(parents=True, exist_ok=True)
    for name, declared in job.spec.outputs.items():
        path = job.output_path(name)
        (path if declared.type == "uri_folder" else path.parent).mkdir(parents=True, exist_ok=True)
        arguments[name] = str(path)
    env = build_worker_env(
        job.interpreter,
        job.environment_variables,
        model_dir=job.model_dir,
        output_dir=job.job_dir / "outputs",
    )
    call = f"{job.spec.entry.partition(':')[2]}()"
    launch = WorkerLaunch(
        interpreter=str(job.interpreter),
        config={
            "mode": "component",
            "code_dir": str(job.code_dir),
            "entry": job.spec.entry,
            "logging_level": job.logging_level,
            "output_format": None,
        },
        env=env,
        cwd=str(job.code_dir),
        log_path=job.log_path,
        tag=job.job_id,
        call=call,
    )
    log = JobLog(job.log_path, job.log_rotation)
    log.write(f"calling {job.spec.entry} for job {job.job_id}")
    began = time.monotonic()
    executor = executor_factory(launch, 1, None)
    try:
        executor.start()
        executor.submit(Task(0, 1, {"arguments": arguments}))
        finished = _wait_for_call(executor, cancel)
    except WorkerStartFailed as exc:
        executor.cancel()
        log.write(f"the worker could not start: {exc}\n{exc.failure.traceback}".rstrip())
        return _component_result("failed", str(exc))
    finally:
        executor.close()
    if finished is None:
        log.write("job cancelled")
        return _component_result("cancelled", None)
    if finished.failure is not None:
        error = finished.failure.describe(None)
        log.write(f"job failed: {error}\n{finished.failure.traceback}".rstrip())
        return _component_result("failed", error)
    log.write(f"job completed in {time.monotonic() - began:.1f} s")
    return _component_result("completed", None)


def _wait_for_call(executor: Executor, cancel: threading.Event) -> Finished | None:
    while True:
        if cancel.is_set():
            executor.cancel()
            return None
        for event in executor.wait(0.2):
            if isinstance(event, Finished):
                return event


def _component_result(status: JobStatus, error: str | None) -> JobResult:
    done = status == "completed"
    progress = JobProgress(
        mini_batches_total=1,
        mini_batches_done=int(done),
        mini_batches_failed=int(status == "failed"),
        items_total=1,
        items_done=int(done),
        items_failed=int(status == "failed"),
    )
    return JobResult(status=status, progress=progress, error=error)

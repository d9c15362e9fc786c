"""The batch job engine: plan, run mini-batches on an executor, stage results, write the output.

``run_job`` is also how a job resumes: called again with the same job and state store after the
controller died, it keeps the saved plan, skips finished mini-batches, runs the rest with new
attempt ids, and writes the output from the staged results. Only ``run_job`` talks to the store.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from wharf.batch.executor import (
    Executor,
    Finished,
    LocalExecutor,
    Started,
    Task,
    WorkerLaunch,
    WorkerStartFailed,
)
from wharf.batch.joblog import JobLog
from wharf.batch.launch import ModelProject, Scorer, build_launch, count_rows_in_environment
from wharf.batch.output import (
    OutputError,
    attempt_path,
    commit_attempt,
    staged_path,
    staging_dir,
    write_final_output,
)
from wharf.batch.planner import TABULAR_SUFFIXES, MiniBatch, list_input_files, plan_mini_batches
from wharf.batch.settings import BatchSettings
from wharf.batch.state import BatchState, BatchStateStore, Failure, pending_batches
from wharf.errors import Invalid
from wharf.logfiles import LogRotation

POLL_SECONDS = 0.2
"""How often the engine looks at the cancel flag while waiting for workers."""

JobStatus = Literal["completed", "failed", "cancelled"]
ExecutorFactory = Callable[[WorkerLaunch, int, float | None], Executor]
"""Builds an executor from (launch, worker processes, per-call timeout); ``LocalExecutor`` fits."""


@dataclass(frozen=True)
class BatchJob:
    """Everything a job needs, all local paths. ``job_dir`` holds the staged results and the log;
    the output file is ``output_dir / settings.output_file_name``."""

    job_id: str
    scorer: Scorer
    settings: BatchSettings
    input_path: Path
    interpreter: Path
    job_dir: Path
    output_dir: Path
    model_dir: Path | None = None
    log_rotation: LogRotation | None = None
    """When the job log is rotated (never, when None)."""

    @property
    def log_path(self) -> Path:
        """The job log: the engine's lines and every worker's output, attempts included."""
        return self.job_dir / "job.log"

    @property
    def output_file(self) -> Path:
        return self.output_dir / self.settings.output_file_name


@dataclass(frozen=True)
class JobProgress:
    """Counts for a progress bar; items are files, or rows when the input is split by rows."""

    mini_batches_total: int = 0
    mini_batches_done: int = 0
    mini_batches_failed: int = 0
    mini_batches_running: int = 0
    retries: int = 0
    items_total: int = 0
    items_done: int = 0
    items_failed: int = 0
    rows_written: int = 0


@dataclass(frozen=True)
class BatchFailure:
    """A mini-batch that failed for good, with the last attempt's failure."""

    batch_id: int
    label: str
    failure: Failure

    @property
    def root_cause(self) -> str:
        return self.failure.describe(self.label)


@dataclass(frozen=True)
class JobResult:
    """How the job ended. ``error`` (set when it failed) names the first root cause; failed
    mini-batches of a job that still completed are in ``failures``."""

    status: JobStatus
    progress: JobProgress
    error: str | None = None
    failures: tuple[BatchFailure, ...] = ()
    output_file: Path | None = None
    seconds_to_first_dispatch: float | None = None
    """From ``run_job`` to the first mini-batch handed to a worker."""
    seconds_to_first_run: float | None = None
    """From ``run_job`` to the first user call starting in a worker (after its ``init()``)."""


@dataclass
class _Counters:
    done: int = 0
    failed: int = 0
    retries: int = 0
    items_done: int = 0
    items_failed: int = 0
    rows: int = 0
    failures: list[BatchFailure] = field(default_factory=list)


def run_job(
    job: BatchJob,
    store: BatchStateStore,
    *,
    cancel: threading.Event | None = None,
    on_progress: Callable[[JobProgress], None] | None = None,
    executor_factory: ExecutorFactory = LocalExecutor,
) -> JobResult:
    """Run (or resume) a batch job to its end and return how it ended.

    Raises ``Invalid`` for a job that cannot start (no input files, a missing scoring script or
    interpreter...); everything that goes wrong while it runs is in the returned ``JobResult``.
    ``cancel`` stops the workers within a fraction of a second of being set.
    """
    return _JobRun(job, store, cancel or threading.Event(), on_progress, executor_factory).run()


class _JobRun:
    def __init__(
        self,
        job: BatchJob,
        store: BatchStateStore,
        cancel: threading.Event,
        on_progress: Callable[[JobProgress], None] | None,
        executor_factory: ExecutorFactory,
    ) -> None:
        self.job = job
        self.settings = job.settings
        self.store = store
        self.cancel = cancel
        self.on_progress = on_progress
        self.executor_factory = executor_factory
        self.began = time.monotonic()
        self.first_dispatch: float | None = None
        self.first_run: float | None = None
        self.log = JobLog(job.log_path, job.log_rotation)
        self.counters = _Counters()
        self.running: dict[int, int] = {}  # batch id -> the one attempt whose result is accepted
        self.attempts: dict[int, int] = {}
        self.failures: dict[int, int] = {}
        self.plan: list[MiniBatch] = []
        self.batches: dict[int, MiniBatch] = {}
        self.items_total = 0

    def run(self) -> JobResult:
        job = self.job
        job.job_dir.mkdir(parents=True, exist_ok=True)
        staging_dir(job.job_dir).mkdir(exist_ok=True)
        launch = build_launch(
            job.scorer,
            self.settings,
            interpreter=job.interpreter,
            model_dir=job.model_dir,
            output_dir=job.output_dir,
            log_path=job.log_path,
            tag=job.job_id,
        )
        job.output_dir.mkdir(parents=True, exist_ok=True)
        self.plan = self.load_or_make_plan(launch)
        self.batches = {batch.id: batch for batch in self.plan}
        self.items_total = sum(batch.item_count for batch in self.plan)
        pending = deque(self.restore(self.plan))
        status: JobStatus = "completed"
        error: str | None = None
        if self.threshold_exceeded():  # the controller died just as the job was failing
            status, error = "failed", self.threshold_error()
        elif pending:
            status, error = self.execute(launch, pending)
        if status == "completed" and self.settings.output_format is not None:
            status, error = self.write_output()
        if status == "completed":
            self.log.write(f"job completed: {self.describe_counts()}")
        else:
            self.log.write(f"job {status}" + (f": {error}" if error else ""))
        self.report()
        return JobResult(
            status=status,
            progress=self.progress(),
            error=error,
            failures=tuple(self.counters.failures),
            output_file=job.output_file if status == "completed" and self.writes_output else None,
            seconds_to_first_dispatch=self.first_dispatch,
            seconds_to_first_run=self.first_run,
        )

    @property
    def writes_output(self) -> bool:
        return self.settings.output_format is not None

    def load_or_make_plan(self, launch: WorkerLaunch) -> list[MiniBatch]:
        plan = self.store.load_plan()
        if plan is not None:
            self.log.write(f"resuming job {self.job.job_id} with its saved plan")
            return plan
        files = list_input_files(self.job.input_path)
        if isinstance(self.job.scorer, ModelProject):
            for item in files:
                if Path(item.name).suffix.lower() not in TABULAR_SUFFIXES:
                    raise Invalid(
                        f"a model project scores CSV or Parquet rows, but {item.name} is neither"
                    )
        counter = None
        if self.settings.mini_batch_rows is not None:
            counter = count_rows_in_environment(self.job.interpreter, files, launch.env)
        plan = plan_mini_batches(files, self.settings, counter)
        self.store.save_plan(plan)
        self.log.write(
            f"planned {len(plan)} mini-batches of {len(files)} files for job {self.job.job_id}"
        )
        return plan

    def restore(self, plan: list[MiniBatch]) -> list[MiniBatch]:
        """Counters from the store; the mini-batches still to run."""
        states = self.store.read_batch_states()
        for batch in plan:
            state = states[batch.id]
            self.attempts[batch.id] = state.attempt
            self.failures[batch.id] = state.failures
            self.counters.retries += state.failures - (state.status == "failed")
            if state.status == "done":
                self.counters.done += 1
                self.counters.items_done += batch.item_count
                self.counters.rows += state.rows
            elif state.status == "failed" and state.last_failure is not None:
                self.count_final_failure(batch, state.last_failure)
        return pending_batches(plan, states)

    def execute(
        self, launch: WorkerLaunch, pending: deque[MiniBatch]
    ) -> tuple[JobStatus, str | None]:
        processes = min(self.settings.process_count, len(pending))
        executor = self.executor_factory(launch, processes, self.settings.retry_settings.timeout)
        self.log.write(f"starting {processes} worker processes with {self.job.interpreter}")
        try:
            executor.start()
            while pending or self.running:
                if self.cancel.is_set():
                    executor.cancel()
                    return "cancelled", None
                while pending and executor.idle_slots() > 0:
                    self.dispatch(executor, pending.popleft())
                for event in executor.wait(POLL_SECONDS):
                    if isinstance(event, Started):
                        self.first_run = self.first_run or time.monotonic() - self.began
                    elif event.failure is None:
                        self.accept(event)
                    else:
                        self.reject(event, event.failure, pending)
                if self.threshold_exceeded():
                    executor.cancel()
                    return "failed", self.threshold_error()
        except WorkerStartFailed as exc:
            executor.cancel()
            self.log.write(f"a worker could not start: {exc}\n{exc.failure.traceback}".rstrip())
            return "failed", str(exc)
        finally:
            executor.close()
        return "completed", None

    def dispatch(self, executor: Executor, batch: MiniBatch) -> None:
        attempt = self.attempts[batch.id] + 1
        self.attempts[batch.id] = attempt
        fmt = self.settings.output_format
        partial = (
            None if fmt is None else str(attempt_path(self.job.job_dir, batch.id, attempt, fmt))
        )
        # Recorded before the worker sees it, so a restarted controller never reuses the id.
        self.store.mark_running(batch.id, attempt)
        message = {"items": [item.to_dict() for item in batch.items], "staged_path": partial}
        executor.submit(Task(batch.id, attempt, message))
        self.running[batch.id] = attempt
        self.first_dispatch = self.first_dispatch or time.monotonic() - self.began
        self.log.write(f"{self.name(batch)} attempt {attempt} sent")
        self.report()

    def accept(self, event: Finished) -> None:
        batch = self.batches[event.batch_id]
        if self.running.get(batch.id) != event.attempt:
            self.log.write(f"{self.name(batch)} attempt {event.attempt} is stale: ignored")
            if event.staged_path is not None:
                Path(event.staged_path).unlink(missing_ok=True)
            return
        del self.running[batch.id]
        staged: str | None = None
        if event.staged_path is not None and self.settings.output_format is not None:
            target = staged_path(self.job.job_dir, batch.id, self.settings.output_format)
            commit_attempt(Path(event.staged_path), target)
            staged = str(target)
        self.store.record_result(batch.id, event.attempt, staged, event.rows)
        self.counters.done += 1
        self.counters.items_done += batch.item_count
        self.counters.rows += event.rows
        self.log.write(f"{self.name(batch)} attempt {event.attempt} done: {event.rows} rows")
        self.report()

    def reject(self, event: Finished, failure: Failure, pending: deque[MiniBatch]) -> None:
        batch = self.batches[event.batch_id]
        if self.running.get(batch.id) != event.attempt:
            self.log.write(f"{self.name(batch)} attempt {event.attempt} is stale: ignored")
            return
        del self.running[batch.id]
        failure = replace(failure, items=tuple(item.label for item in batch.items))
        self.failures[batch.id] += 1
        final = self.failures[batch.id] > self.settings.retry_settings.max_retries
        self.store.record_failure(batch.id, event.attempt, failure, final=final)
        after = "no retries left" if final else "retrying"
        self.log.write(
            f"{self.name(batch)} attempt {event.attempt} failed ({after}): "
            f"{failure.describe(batch.label)}\n{failure.traceback}".rstrip()
        )
        if final:
            self.count_final_failure(batch, failure)
        else:
            self.counters.retries += 1
            pending.appendleft(batch)
        self.report()

    def count_final_failure(self, batch: MiniBatch, failure: Failure) -> None:
        self.counters.failed += 1
        self.counters.items_failed += batch.item_count
        self.counters.failures.append(BatchFailure(batch.id, batch.label, failure))

    def threshold_exceeded(self) -> bool:
        threshold = self.settings.error_threshold
        return threshold >= 0 and self.counters.items_failed > threshold

    def threshold_error(self) -> str:
        first = self.counters.failures[0].root_cause
        count = self.counters.items_failed
        unit = "row" if self.settings.mini_batch_rows is not None else "file"
        return (
            f"{first} ({count} failed {unit}{'' if count == 1 else 's'}, "
            f"more than error_threshold {self.settings.error_threshold})"
        )

    def write_output(self) -> tuple[JobStatus, str | None]:
        fmt = self.settings.output_format
        assert fmt is not None
        states: dict[int, BatchState] = self.store.read_batch_states()
        sources = [
            Path(path)
            for batch in self.plan
            if states[batch.id].status == "done" and (path := states[batch.id].staged_path)
        ]
        try:
            write_final_output(sources, self.job.output_file, fmt, str(self.job.interpreter))
        except (OSError, OutputError) as exc:
            return "failed", f"writing {self.settings.output_file_name} failed: {exc}"
        self.log.write(f"wrote {self.counters.rows} rows to {self.job.output_file}")
        return "completed", None

    def name(self, batch: MiniBatch) -> str:
        return f"mini-batch {batch.id + 1}/{len(self.plan)} ({batch.label})"

    def describe_counts(self) -> str:
        c = self.counters
        text = (
            f"{c.done} of {len(self.plan)} mini-batches done, {c.failed} failed, "
            f"{c.retries} retries, {c.rows} rows"
        )
        return f"{text}; first failure: {c.failures[0].root_cause}" if c.failures else text

    def progress(self) -> JobProgress:
        c = self.counters
        return JobProgress(
            mini_batches_total=len(self.plan),
            mini_batches_done=c.done,
            mini_batches_failed=c.failed,
            mini_batches_running=len(self.running),
            retries=c.retries,
            items_total=self.items_total,
            items_done=c.items_done,
            items_failed=c.items_failed,
            rows_written=c.rows,
        )

    def report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress())

"""The engine's rules, driven through the executor interface by a scripted in-process executor:
retries, error_threshold in items, stale attempts, resuming, progress and ordering."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from wharf.batch.engine import BatchJob, JobProgress, JobResult, run_job
from wharf.batch.executor import Event, Finished, Started, Task, WorkerLaunch, WorkerStartFailed
from wharf.batch.launch import ScoringScript
from wharf.batch.settings import BatchSettings
from wharf.batch.state import Failure, MemoryStateStore

Rule = Callable[[Task], list[Event]]


def fail(message: str = "'age'") -> Failure:
    return Failure("error", "run()", "KeyError", message, "Traceback (most recent...)", None)


def succeed(task: Task) -> list[Event]:
    """Write the rows the worker would: one line per item, named after the item."""
    staged = task.message["staged_path"]
    names = [item["name"] for item in task.message["items"]]
    Path(staged).write_text("name\n" + "".join(f"{name}\n" for name in names))
    return [
        Started(task.batch_id, task.attempt),
        Finished(task.batch_id, task.attempt, len(names), staged),
    ]


@dataclass
class ScriptedExecutor:
    """Answers each task in process by a rule; records what it was sent."""

    rule: Rule
    processes: int
    sent: list[Task] = field(default_factory=list)
    queued: list[Task] = field(default_factory=list)
    closed: bool = False

    def start(self) -> None:
        pass

    def idle_slots(self) -> int:
        return self.processes - len(self.queued)

    def submit(self, task: Task) -> None:
        self.sent.append(task)
        self.queued.append(task)

    def wait(self, timeout: float) -> list[Event]:
        # Finish the queue in reverse to show that output order does not follow completion order.
        events = [event for task in reversed(self.queued) for event in self.rule(task)]
        self.queued = []
        return events

    def cancel(self) -> None:
        self.queued = []

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def make_job(tmp_path: Path) -> Callable[..., BatchJob]:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "score.py").write_text("def run(mini_batch):\n    return []\n")
    (tmp_path / "in").mkdir()
    for n in range(6):
        (tmp_path / "in" / f"f{n}.csv").write_text("x\n1\n")

    def make(**settings: object) -> BatchJob:
        return BatchJob(
            job_id="job-1",
            scorer=ScoringScript(tmp_path / "code", "score.py"),
            settings=BatchSettings.model_validate({"mini_batch_size": 1, **settings}),
            input_path=tmp_path / "in",
            interpreter=Path(sys.executable),
            job_dir=tmp_path / "job",
            output_dir=tmp_path / "out",
        )

    return make


def run_scripted(
    job: BatchJob,
    rule: Rule,
    store: MemoryStateStore | None = None,
    *,
    cancel: threading.Event | None = None,
    on_progress: Callable[[JobProgress], None] | None = None,
) -> tuple[JobResult, ScriptedExecutor]:
    executors: list[ScriptedExecutor] = []

    def factory(launch: WorkerLaunch, processes: int, timeout: float | None) -> ScriptedExecutor:
        assert timeout == job.settings.retry_settings.timeout
        executors.append(ScriptedExecutor(rule, processes))
        return executors[0]

    result = run_job(
        job,
        store or MemoryStateStore(),
        cancel=cancel,
        on_progress=on_progress,
        executor_factory=factory,
    )
    return result, executors[0]


def test_output_follows_input_order_not_completion_order(make_job: Callable[..., BatchJob]) -> None:
    progress: list[JobProgress] = []
    job = make_job(max_concurrency_per_instance=3)
    result, executor = run_scripted(job, succeed, on_progress=progress.append)
    assert result.status == "completed"
    assert (job.output_dir / "predictions.csv").read_text() == "name\n" + "".join(
        f"f{n}.csv\n" for n in range(6)
    )
    assert executor.processes == 3
    assert executor.closed
    assert progress[-1] == JobProgress(
        mini_batches_total=6, mini_batches_done=6, items_total=6, items_done=6, rows_written=6
    )


def test_failed_attempts_are_retried_then_count_as_failed(
    make_job: Callable[..., BatchJob],
) -> None:
    tries: dict[int, int] = {}

    def rule(task: Task) -> list[Event]:
        tries[task.batch_id] = tries.get(task.batch_id, 0) + 1
        if task.batch_id == 1 and tries[1] <= 2:  # fails twice, then works
            return [Finished(task.batch_id, task.attempt, failure=fail())]
        if task.batch_id == 3:  # always fails
            return [Finished(task.batch_id, task.attempt, failure=fail())]
        return succeed(task)

    store = MemoryStateStore()
    job = make_job(retry_settings={"max_retries": 2})
    result, executor = run_scripted(job, rule, store)
    assert result.status == "completed"
    assert result.progress.retries == 4
    assert result.progress.mini_batches_failed == 1
    assert [f.root_cause for f in result.failures] == ["run() raised KeyError: 'age' on f3.csv"]
    assert [t.attempt for t in executor.sent if t.batch_id == 3] == [1, 2, 3]
    states = store.read_batch_states()
    assert states[1].status == "done"
    assert states[1].failures == 2
    assert states[3].status == "failed"
    assert states[3].last_failure is not None
    assert states[3].last_failure.items == ("f3.csv",)
    output = (job.output_dir / "predictions.csv").read_text()
    assert "f1.csv" in output
    assert "f3.csv" not in output
    log = job.log_path.read_text()
    assert log.count("mini-batch 4/6 (f3.csv) attempt") == 6  # sent and failed, three times
    assert "failed (no retries left): run() raised KeyError: 'age' on f3.csv" in log
    assert "Traceback (most recent...)" in log


@pytest.mark.parametrize(
    ("threshold", "status"), [(-1, "completed"), (1, "failed"), (2, "completed")]
)
def test_error_threshold_counts_failed_files(
    make_job: Callable[..., BatchJob], threshold: int, status: str
) -> None:
    def rule(task: Task) -> list[Event]:
        if task.batch_id == 1:  # the mini-batch of f2.csv and f3.csv: two files
            return [Finished(task.batch_id, task.attempt, failure=fail())]
        return succeed(task)

    job = make_job(mini_batch_size=2, error_threshold=threshold, retry_settings={"max_retries": 0})
    result, _ = run_scripted(job, rule)
    assert result.status == status
    assert result.progress.items_failed == 2
    if status == "failed":
        assert result.error == (
            "run() raised KeyError: 'age' on f2.csv, f3.csv "
            "(2 failed files, more than error_threshold 1)"
        )
        assert not (job.output_dir / "predictions.csv").exists()


def test_results_of_stale_attempts_are_ignored(make_job: Callable[..., BatchJob]) -> None:
    def rule(task: Task) -> list[Event]:
        stale = Path(task.message["staged_path"] + ".stale")
        stale.write_text("name\nSTALE\n")
        old = Finished(task.batch_id, task.attempt - 1, 1, str(stale))
        return [old, *succeed(task)]

    job = make_job()
    result, _ = run_scripted(job, rule)
    assert result.status == "completed"
    assert "STALE" not in (job.output_dir / "predictions.csv").read_text()
    assert "attempt 0 is stale: ignored" in job.log_path.read_text()


def test_resuming_skips_done_batches_and_uses_new_attempt_ids(
    make_job: Callable[..., BatchJob],
) -> None:
    job = make_job(mini_batch_size=2)
    store = MemoryStateStore()
    first, _ = run_scripted(job, succeed, store)
    assert first.status == "completed"
    # As if the controller died: batch 1 was running its third attempt, batch 2 never finished.
    store.mark_running(1, 3)
    store.mark_running(2, 1)
    second, executor = run_scripted(job, succeed, store)
    assert [(t.batch_id, t.attempt) for t in executor.sent] == [(1, 4), (2, 2)]
    assert second.progress.mini_batches_done == 3
    assert (job.output_dir / "predictions.csv").read_text() == "name\n" + "".join(
        f"f{n}.csv\n" for n in range(6)
    )
    assert "resuming job job-1 with its saved plan" in job.log_path.read_text()


def test_a_worker_that_cannot_start_fails_the_job(make_job: Callable[..., BatchJob]) -> None:
    def rule(task: Task) -> list[Event]:
        raise WorkerStartFailed(Failure("error", "init()", "OSError", "no model", "tb", None))

    result, _ = run_scripted(make_job(), rule)
    assert result.status == "failed"
    assert result.error == "init() raised OSError: no model"


def test_a_cancelled_job_stops(make_job: Callable[..., BatchJob]) -> None:
    cancel = threading.Event()
    cancel.set()
    result, executor = run_scripted(make_job(), succeed, cancel=cancel)
    assert result.status == "cancelled"
    assert executor.sent == []
    assert result.output_file is None

"""Mini-batch state stores: what the engine records survives a controller that is killed."""

from __future__ import annotations

from pathlib import Path

from wharf.batch.planner import Item, MiniBatch
from wharf.batch.state import (
    Failure,
    FileStateStore,
    MemoryStateStore,
    pending_batches,
)

PLAN = [MiniBatch(id=n, items=(Item(f"/in/{n}.csv", f"{n}.csv"),)) for n in range(4)]
FAILURE = Failure("error", "run()", "KeyError", "'age'", "Traceback...", None, ("2.csv",))


def record_some_history(store: MemoryStateStore) -> None:
    store.save_plan(PLAN)
    store.mark_running(0, 1)
    store.record_result(0, 1, "/staged/000000.csv", 3)
    store.mark_running(1, 1)
    store.mark_running(2, 1)
    store.record_failure(2, 1, FAILURE, final=False)
    store.mark_running(2, 2)
    store.record_failure(2, 2, FAILURE, final=True)


def test_memory_store_tracks_states() -> None:
    store = MemoryStateStore()
    assert store.load_plan() is None
    record_some_history(store)
    states = store.read_batch_states()
    assert states[0].status == "done"
    assert states[0].staged_path == "/staged/000000.csv"
    assert states[0].rows == 3
    assert states[1].status == "running"
    assert states[2].status == "failed"
    assert states[2].failures == 2
    assert states[2].attempt == 2
    assert states[2].last_failure == FAILURE
    assert states[3].status == "pending"
    assert [batch.id for batch in pending_batches(PLAN, states)] == [1, 3]


def test_file_store_replays_its_journal(tmp_path: Path) -> None:
    journal = tmp_path / "job" / "state.jsonl"
    record_some_history(FileStateStore(journal))
    reopened = FileStateStore(journal)
    assert reopened.load_plan() == PLAN
    in_memory = MemoryStateStore()
    record_some_history(in_memory)
    assert reopened.read_batch_states() == in_memory.read_batch_states()


def test_a_torn_last_line_is_dropped_and_not_glued_to(tmp_path: Path) -> None:
    journal = tmp_path / "state.jsonl"
    store = FileStateStore(journal)
    store.save_plan(PLAN)
    store.mark_running(0, 1)
    with journal.open("a") as handle:
        handle.write('{"event": "result", "batch": 0, "att')  # killed mid-write
    reopened = FileStateStore(journal)
    assert reopened.read_batch_states()[0].status == "running"
    reopened.mark_running(0, 2)
    assert FileStateStore(journal).read_batch_states()[0].attempt == 2


def test_attempt_ids_only_grow() -> None:
    store = MemoryStateStore()
    store.save_plan(PLAN)
    store.mark_running(0, 5)
    store.record_result(0, 3, None, 0)  # a late result of an older attempt
    assert store.read_batch_states()[0].attempt == 5


def test_failures_describe_their_root_cause() -> None:
    assert FAILURE.describe("2.csv") == "run() raised KeyError: 'age' on 2.csv"
    located = Failure("error", "predict()", "ValueError", "", "", "a.csv row 7")
    assert located.describe("a.csv") == "predict() raised ValueError on a.csv row 7"
    timeout = Failure("timeout", "run()", "", "30 s", "", None)
    assert timeout.describe("x.csv") == "run() did not finish within 30 s on x.csv"
    died = Failure("worker-died", "run()", "", "killed by SIGKILL", "", None)
    assert died.describe(None) == "the worker process died (killed by SIGKILL) during run()"
    assert Failure.from_dict(FAILURE.to_dict()) == FAILURE

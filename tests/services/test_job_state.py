"""The database state store and job state changes, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wharf.batch.planner import Item, MiniBatch
from wharf.batch.state import BatchStateStore, Failure, MemoryStateStore
from wharf.config import Settings
from wharf.services import jobs, workspaces
from wharf.services.job_state import DatabaseStateStore
from wharf.services.platform import Platform, start_platform
from wharf.states import JobStatus
from wharf.store.models import Job

PLAN = [
    MiniBatch(0, (Item("/in/a.csv", "a.csv"),)),
    MiniBatch(1, (Item("/in/b.csv", "b.csv", 0, 10, 7), Item("/in/c.csv", "c.csv"))),
]
FAILURE = Failure("error", "run()", "KeyError", "'age'", "Traceback ...", "b.csv", ("b.csv",))


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    platform = start_platform(settings)
    yield platform
    platform.close()


def add_job(platform: Platform, name: str, status: JobStatus = JobStatus.QUEUED) -> int:
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, "default")
        job = Job(
            workspace_id=workspace.id,
            name=name,
            endpoint="heart",
            deployment="d1",
            kind="scoring_script",
            status=status,
            experiment_name="heart",
        )
        session.add(job)
        session.flush()
        return job.id


def replay(store: BatchStateStore) -> None:
    store.save_plan(PLAN)
    store.mark_running(0, 1)
    store.mark_running(1, 2)
    store.record_failure(1, 2, FAILURE, final=False)
    store.record_result(0, 1, "/staging/0.csv", 3)
    store.mark_running(1, 3)
    store.record_result(1, 1, "/staging/stale.csv", 9)  # a stale attempt id never lowers it
    store.mark_running(1, 4)
    store.record_failure(1, 4, FAILURE, final=True)


def test_the_database_store_behaves_like_the_memory_store(platform: Platform) -> None:
    database = DatabaseStateStore(platform, add_job(platform, "j1"))
    memory = MemoryStateStore()
    assert database.load_plan() is None
    replay(database)
    replay(memory)
    assert database.load_plan() == PLAN
    assert database.read_batch_states() == memory.read_batch_states()
    states = database.read_batch_states()
    assert (states[1].status, states[1].attempt, states[1].failures) == ("failed", 4, 2)
    assert states[1].last_failure == FAILURE
    other = DatabaseStateStore(platform, add_job(platform, "j2"))
    assert other.load_plan() is None, "each job has its own mini-batches"


def test_claim_cancel_and_recovery_are_compare_and_set(platform: Platform) -> None:
    first = add_job(platform, "first")
    second = add_job(platform, "second")
    third = add_job(platform, "third")
    with platform.transaction() as session:
        claimed = jobs.claim_next_job(session)
        assert claimed is not None
        assert claimed.id == first
        assert claimed.started_at is not None
        assert jobs.advance_job(session, first, JobStatus.RUNNING)
        workspace = workspaces.read_workspace(session, "default")
        assert jobs.cancel_job(session, workspace, "second").status == JobStatus.CANCELED
        assert jobs.claim_next_job(session).id == third  # type: ignore[union-attr]
        assert jobs.cancel_job(session, workspace, "third").status == JobStatus.CANCEL_REQUESTED
        assert not jobs.advance_job(session, third, JobStatus.RUNNING), "a cancel came first"
        assert jobs.cancel_requested_ids(session, [first, third]) == [third]
    with platform.transaction() as session:
        assert jobs.recover_interrupted_jobs(session) == (1, 1)
        resumed = session.get(Job, first)
        assert resumed is not None
        assert (resumed.status, resumed.resumed) == (JobStatus.QUEUED, 1)
        assert session.get(Job, third).status == JobStatus.CANCELED  # type: ignore[union-attr]
        assert session.get(Job, second).finished_at is not None  # type: ignore[union-attr]
        assert jobs.finish_job(session, first, JobStatus.COMPLETED)
        assert not jobs.finish_job(session, first, JobStatus.FAILED), "a job ends once"

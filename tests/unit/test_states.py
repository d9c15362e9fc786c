"""States are one enumeration each, and "has it ended" is asked of the enumeration."""

from __future__ import annotations

from wharf.schemas.apps import App, AppStatus, Build
from wharf.schemas.batch import Job
from wharf.sdk import FINAL_STATES
from wharf.states import AppPhase, BuildPhase, JobStatus, ReplicaState


def test_the_wire_words_are_the_ones_the_api_always_sent() -> None:
    assert [phase.value for phase in BuildPhase] == [
        "New", "Pending", "Running", "Complete", "Failed", "Error", "Cancelled"
    ]  # fmt: skip
    assert [status.value for status in JobStatus] == [
        "Queued", "Preparing", "Running", "Finalizing",
        "Completed", "Failed", "CancelRequested", "Canceled",
    ]  # fmt: skip
    assert "OOMKilled" in set(ReplicaState)
    assert AppPhase.NOT_DEPLOYED == "NotDeployed"


def test_ended_is_asked_of_the_state() -> None:
    assert {phase for phase in BuildPhase if phase.ended} == {
        BuildPhase.COMPLETE, BuildPhase.FAILED, BuildPhase.ERROR, BuildPhase.CANCELLED
    }  # fmt: skip
    assert {status for status in JobStatus if status.ended} == set(FINAL_STATES) == {
        JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED
    }  # fmt: skip
    assert not JobStatus.CANCEL_REQUESTED.ended
    assert {status for status in JobStatus if status.started} == {
        JobStatus.PREPARING, JobStatus.RUNNING, JobStatus.FINALIZING
    }  # fmt: skip
    assert {state for state in ReplicaState if state.exited} == {
        ReplicaState.CRASHED, ReplicaState.OOM_KILLED
    }  # fmt: skip


def test_schemas_carry_the_enumerations() -> None:
    assert Build.model_fields["phase"].annotation is BuildPhase
    assert Job.model_fields["status"].annotation is JobStatus
    assert AppStatus.model_fields["phase"].annotation is AppPhase
    assert App.model_fields["status"].annotation == AppStatus | None


def test_an_app_status_keeps_the_json_fields_it_always_had() -> None:
    status = AppStatus(phase=AppPhase.READY, ready=1, desired=1, restarts=0)
    assert set(status.model_dump(mode="json")) >= {
        "phase", "revision", "rolling_out", "ready", "desired", "restarts", "reason",
        "message", "limits", "last_rollout_failure",
    }  # fmt: skip
    assert status.model_dump(mode="json")["phase"] == "Ready"
    # an older SDK reads a newer server's status, and a status read back is typed
    read = AppStatus.model_validate({**status.model_dump(mode="json"), "new_field": 1})
    assert read.phase is AppPhase.READY

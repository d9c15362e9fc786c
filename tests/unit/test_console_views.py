"""How the console words an app's state: the Pods section's note during a rollout."""

from __future__ import annotations

from datetime import UTC, datetime

from wharf.console.views import build_message, pods_note
from wharf.schemas import apps as schemas
from wharf.states import AppPhase, BuildPhase


def _app(serving: int | None, status: schemas.AppStatus | None) -> schemas.App:
    return schemas.App(
        name="my-model",
        git="https://example.invalid/repo.git",
        ref="main",
        context_dir="",
        build_env={},
        env={},
        replicas=1,
        labels={},
        route=schemas.Route(enabled=True, urls=[]),
        serving_build=serving,
        status=status,
        created_at=datetime(2026, 12, 2, tzinfo=UTC),
    )


def _status(rolling_out: str | None, ready: int) -> schemas.AppStatus:
    phase = AppPhase.PROGRESSING if ready == 0 else AppPhase.READY
    return schemas.AppStatus(
        phase=phase, rolling_out=rolling_out, ready=ready, desired=1, restarts=0
    )


def test_a_first_build_rolling_out_is_said_to_be_complete_and_rolling_out() -> None:
    note = pods_note(_app(None, _status("build-1", 0)))
    assert note == "Build #1 is complete; rolling out (0 of 1 pod ready)."


def test_a_later_build_rolling_out_is_named_while_the_earlier_one_serves() -> None:
    assert pods_note(_app(1, _status("build-2", 1))) == (
        "Build #2 is complete; rolling out (1 of 1 pod ready)."
    )


def test_before_any_build_completes_the_pods_wait_for_it() -> None:
    assert pods_note(_app(None, None)) == (
        "Waiting for the build: no build has completed yet, so nothing runs."
    )


def test_a_serving_app_needs_no_note() -> None:
    assert pods_note(_app(1, _status(None, 1))) is None


def _build(phase: BuildPhase, message: str) -> schemas.Build:
    return schemas.Build(
        app="my-model",
        number=2,
        phase=phase,
        trigger="manual",
        ref="main",
        message=message,
        created_at=datetime(2026, 12, 2, tzinfo=UTC),
    )


def test_a_build_message_that_repeats_the_heading_is_not_shown() -> None:
    assert build_message(_build(BuildPhase.COMPLETE, "Build #2 is complete")) is None
    assert build_message(_build(BuildPhase.COMPLETE, "")) is None


def test_a_failed_build_says_why() -> None:
    message = "pip could not install numpy==0"
    assert build_message(_build(BuildPhase.FAILED, message)) == message

"""Once ``wharf up`` answers, what it holds from its start is kept out of full GC passes."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from wharf.cli.up_servers import _when_started


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_started_server_freezes_what_it_holds_then_calls_on_ready(unfrozen: None) -> None:
    called: list[Any] = []
    leader = SimpleNamespace(started=True, should_exit=False)
    _when_started(leader, "app", lambda app, stopping: called.append(app))  # type: ignore[arg-type]
    assert gc.get_freeze_count() > 0
    assert called == ["app"]


def test_a_server_that_never_started_freezes_nothing(unfrozen: None) -> None:
    leader = SimpleNamespace(started=False, should_exit=True)
    _when_started(leader, "app", None)  # type: ignore[arg-type]
    assert gc.get_freeze_count() == 0

"""The CLI prints people's values as they are: no markup, no emoji codes."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from wharf.cli._output import (
    OutputFormat,
    emit,
    emit_or_confirm,
    print_error,
    print_success,
    reset_output,
)


class Row(BaseModel):
    name: str


class Job(BaseModel):
    name: str
    endpoint: str
    status: str
    experiment: str
    created_at: str


def test_a_narrow_table_keeps_the_first_column_whole(capsys: pytest.CaptureFixture[str]) -> None:
    name = "heart-20261202-131845-7f3a9c"
    job = Job(
        name=name,
        endpoint="heart-disease-classifier",
        status="Queued",
        experiment="heart-disease-classifier-nightly",
        created_at="2026-12-02 13:18:45",
    )
    columns = [(field.upper(), lambda j, f=field: getattr(j, f)) for field in Job.model_fields]
    emit(job, OutputFormat.table, columns)
    printed = capsys.readouterr().out
    assert max(len(line) for line in printed.splitlines()) <= 80  # as wide as a terminal
    assert name in printed


def test_table_cells_and_messages_show_brackets_and_colons_literally(
    capsys: pytest.CaptureFixture[str],
) -> None:
    emit(
        [Row(name="data:heart:1 [bold]x[/bold]")], OutputFormat.table, [("NAME", lambda r: r.name)]
    )
    print_success("job [red]j[/red] reads data:heart:1")
    print_error("input 'data:smile:2' [x] does not resolve")
    out, err = capsys.readouterr()
    assert "data:heart:1 [bold]x[/bold]" in out
    assert "job [red]j[/red] reads data:heart:1" in err
    assert "input 'data:smile:2' [x] does not resolve" in err
    assert "❤" not in out + err


def test_a_change_prints_its_result_for_scripts_and_a_confirmation_for_people(
    capsys: pytest.CaptureFixture[str],
) -> None:
    reset_output()
    columns = [("NAME", lambda r: r.name)]
    emit_or_confirm(Row(name="lab"), OutputFormat.table, columns, "workbench lab stopped")
    out, err = capsys.readouterr()
    assert out == ""
    assert "workbench lab stopped" in err
    emit_or_confirm(Row(name="lab"), OutputFormat.json, columns, "workbench lab stopped")
    out, err = capsys.readouterr()
    assert json.loads(out) == {"name": "lab"}
    assert err == ""

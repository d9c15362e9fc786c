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

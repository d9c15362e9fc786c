"""The CLI prints people's values as they are: no markup, no emoji codes."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from wharf.cli._output import OutputFormat, emit, print_error, print_success


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

"""Staged results and the final writer: one header, input order, atomic replace."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from wharf.batch.output import (
    attempt_path,
    commit_attempt,
    read_csv_header,
    staged_path,
    write_final_output,
)


def test_csv_outputs_get_one_header_in_the_given_order(tmp_path: Path) -> None:
    first = tmp_path / "000000.csv"
    first.write_text("id,score\n1,0.5\n2,0.25\n")
    second = tmp_path / "000001.csv"
    second.write_text("id,score\n3,0.125\n")
    empty = tmp_path / "000002.csv"
    empty.write_text("")
    target = tmp_path / "out" / "predictions.csv"
    write_final_output([second, empty, first], target, "csv", sys.executable)
    assert target.read_text() == "id,score\n3,0.125\n1,0.5\n2,0.25\n"
    assert not list(target.parent.glob(".*partial"))


def test_csv_columns_that_differ_are_unioned(tmp_path: Path) -> None:
    first = tmp_path / "a.csv"
    first.write_text('id,"multi\nline"\n1,x\n')
    second = tmp_path / "b.csv"
    second.write_text("id,extra\n2,y\n")
    target = tmp_path / "out.csv"
    write_final_output([first, second], target, "csv", sys.executable)
    with target.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["id", "multi\nline", "extra"], ["1", "x", ""], ["2", "", "y"]]
    assert read_csv_header(first) == (len('id,"multi\nline"\n'), ["id", "multi\nline"])


def test_no_staged_results_still_writes_an_empty_output(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    write_final_output([], target, "csv", sys.executable)
    assert target.read_text() == ""


def test_jsonl_outputs_are_concatenated_with_line_ends(tmp_path: Path) -> None:
    first = tmp_path / "a.jsonl"
    first.write_text('{"a": 1}')  # pandas may leave the last line unterminated
    second = tmp_path / "b.jsonl"
    second.write_text('{"a": 2}\n')
    target = tmp_path / "out.jsonl"
    write_final_output([first, second], target, "jsonl", sys.executable)
    assert target.read_text() == '{"a": 1}\n{"a": 2}\n'


def test_committing_an_attempt_replaces_the_earlier_result(tmp_path: Path) -> None:
    staged = staged_path(tmp_path, 3, "csv")
    staged.parent.mkdir()
    for attempt, text in ((1, "x\n1\n"), (2, "x\n2\n")):
        partial = attempt_path(tmp_path, 3, attempt, "csv")
        partial.write_text(text)
        commit_attempt(partial, staged)
    assert staged.read_text() == "x\n2\n"
    assert sorted(p.name for p in staged.parent.iterdir()) == ["000003.csv"]

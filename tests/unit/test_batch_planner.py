"""The mini-batch planner: sorted folders, file groups, row ranges across files, labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from wharf.batch.planner import (
    Item,
    MiniBatch,
    count_csv_rows,
    list_input_files,
    locate_csv_rows,
    plan_mini_batches,
)
from wharf.batch.settings import BatchSettings
from wharf.errors import Invalid


def write_csv(path: Path, rows: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x\n" + "".join(f"{n}\n" for n in range(rows)))
    return path


def test_folder_files_are_sorted_recursive_and_skip_hidden(tmp_path: Path) -> None:
    for name in ("b.csv", "a.csv", "sub/c.csv", ".DS_Store", ".cache/x.csv", "10.csv", "9.csv"):
        write_csv(tmp_path / name, 1)
    names = [item.name for item in list_input_files(tmp_path)]
    assert names == ["10.csv", "9.csv", "a.csv", "b.csv", "sub/c.csv"]
    single = list_input_files(tmp_path / "a.csv")
    assert [item.name for item in single] == ["a.csv"]
    with pytest.raises(Invalid, match="does not exist"):
        list_input_files(tmp_path / "missing")


def test_files_are_grouped_mini_batch_size_at_a_time(tmp_path: Path) -> None:
    files = [Item(path=str(tmp_path / f"{n}.png"), name=f"{n}.png") for n in range(7)]
    plan = plan_mini_batches(files, BatchSettings(mini_batch_size=3))
    assert [[item.name for item in batch.items] for batch in plan] == [
        ["0.png", "1.png", "2.png"],
        ["3.png", "4.png", "5.png"],
        ["6.png"],
    ]
    assert [batch.id for batch in plan] == [0, 1, 2]
    assert plan[0].item_count == 3
    assert plan[0].label == "0.png … 2.png (3 files)"
    assert plan[2].label == "6.png"
    with pytest.raises(Invalid, match="no files"):
        plan_mini_batches([], BatchSettings())


def test_rows_are_split_across_files(tmp_path: Path) -> None:
    files: list[Item] = []
    for name, rows in (("a.csv", 5), ("b.csv", 0), ("c.csv", 4)):
        path = write_csv(tmp_path / name, rows)
        files.append(Item(path=str(path), name=name))
    plan = plan_mini_batches(files, BatchSettings(mini_batch_rows=4))
    ranges = [[(i.name, i.start, i.stop) for i in batch.items] for batch in plan]
    assert ranges == [
        [("a.csv", 0, 4)],
        [("a.csv", 4, 5), ("c.csv", 0, 3)],
        [("c.csv", 3, 4)],
    ]
    assert [batch.item_count for batch in plan] == [4, 4, 1]
    assert plan[0].label == "a.csv rows 1-4"
    assert plan[1].label == "a.csv row 5, c.csv rows 1-3"


def test_row_splitting_needs_tabular_files(tmp_path: Path) -> None:
    files = [Item(path=str(tmp_path / "x.png"), name="x.png")]
    with pytest.raises(Invalid, match=r"x\.png is neither"):
        plan_mini_batches(files, BatchSettings(mini_batch_rows=10))
    parquet = [Item(path=str(tmp_path / "x.parquet"), name="x.parquet")]
    with pytest.raises(Invalid, match="pyarrow"):
        plan_mini_batches(parquet, BatchSettings(mini_batch_rows=10))
    plan = plan_mini_batches(parquet, BatchSettings(mini_batch_rows=10), count_rows=lambda _: 25)
    assert [(i.start, i.stop) for b in plan for i in b.items] == [(0, 10), (10, 20), (20, 25)]


def test_csv_rows_are_counted_exactly(tmp_path: Path) -> None:
    assert count_csv_rows(str(write_csv(tmp_path / "a.csv", 1000))) == 1000
    no_newline = tmp_path / "b.csv"
    no_newline.write_text("x\n1\n2")
    assert count_csv_rows(str(no_newline)) == 2
    quoted = tmp_path / "c.csv"
    quoted.write_text('x,y\n1,"two\nlines"\n3,"plain"\n')
    assert count_csv_rows(str(quoted)) == 2
    empty = tmp_path / "d.csv"
    empty.write_text("")
    assert count_csv_rows(str(empty)) == 0
    header_only = tmp_path / "e.csv"
    header_only.write_text("x\n")
    assert count_csv_rows(str(header_only)) == 0


def test_plans_round_trip_through_json_shapes() -> None:
    batch = MiniBatch(id=4, items=(Item("/d/a.csv", "a.csv", 0, 10), Item("/d/b.csv", "b.csv")))
    assert MiniBatch.from_dict(batch.to_dict()) == batch
    assert batch.split_by_rows
    assert batch.item_count == 11


def test_csv_row_offsets_let_workers_seek_to_their_rows(tmp_path: Path) -> None:
    first = write_csv(tmp_path / "a.csv", 5)
    second = write_csv(tmp_path / "b.csv", 4)
    files = [Item(str(first), "a.csv"), Item(str(second), "b.csv")]
    plan = plan_mini_batches(files, BatchSettings(mini_batch_rows=2))
    for item in (item for batch in plan for item in batch.items):
        if item.start == 0:
            continue  # read from the top anyway
        assert item.offset is not None
        with open(item.path, "rb") as handle:
            handle.seek(item.offset)
            assert handle.readline() == f"{item.start}\n".encode()
    assert [(i.name, i.start) for b in plan for i in b.items] == [
        ("a.csv", 0),
        ("a.csv", 2),
        ("a.csv", 4),
        ("b.csv", 0),
        ("b.csv", 1),
        ("b.csv", 3),
    ]
    quoted = tmp_path / "q.csv"
    quoted.write_text('x\n"a\nb"\n2\n3\n')
    assert locate_csv_rows(str(quoted), 0, 2) == (3, {})
    assert locate_csv_rows(str(first), 1, 3) == (5, {1: 4, 4: 10})

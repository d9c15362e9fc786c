"""The mini-batch planner: turns a job's input files into an ordered list of mini-batches."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wharf.batch.settings import BatchSettings
from wharf.errors import Invalid

TABULAR_SUFFIXES = (".csv", ".parquet")
"""Inputs that can be split by rows and scored row by row."""

RowCounter = Callable[[str], int]
"""Returns the number of data rows of a tabular file (Parquet needs the deployment's pyarrow)."""


@dataclass(frozen=True)
class Item:
    """One unit of input: a whole file, or the rows ``[start, stop)`` of a tabular file.

    ``path`` is a string, not a ``Path``, so that a later executor can carry fsspec URLs; ``name``
    is how people see the item (its path relative to the input folder).
    """

    path: str
    name: str
    start: int | None = None
    stop: int | None = None
    offset: int | None = None
    """Byte offset of row ``start`` in a CSV file, when known: the worker seeks there instead of
    parsing the rows before it."""

    @property
    def count(self) -> int:
        """How many items this is for ``error_threshold``: one file, or its rows."""
        return 1 if self.start is None or self.stop is None else self.stop - self.start

    @property
    def label(self) -> str:
        """The item in an error message: ``heart-003.csv`` or ``heart-003.csv rows 1-500``."""
        if self.start is None or self.stop is None:
            return self.name
        if self.stop - self.start == 1:
            return f"{self.name} row {self.stop}"
        return f"{self.name} rows {self.start + 1}-{self.stop}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name,
            "start": self.start,
            "stop": self.stop,
            "offset": self.offset,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Item:
        return cls(
            path=data["path"],
            name=data["name"],
            start=data["start"],
            stop=data["stop"],
            offset=data.get("offset"),
        )


@dataclass(frozen=True)
class MiniBatch:
    """A numbered group of items, scored by one ``run()`` call. Ids follow input order."""

    id: int
    items: tuple[Item, ...]

    @property
    def item_count(self) -> int:
        return sum(item.count for item in self.items)

    @property
    def split_by_rows(self) -> bool:
        return any(item.start is not None for item in self.items)

    @property
    def label(self) -> str:
        """The mini-batch in an error message: ``heart-003.csv``, ``a.csv, b.csv``, or
        ``heart-001.csv … heart-010.csv (10 files)``."""
        if len(self.items) <= 2:
            return ", ".join(item.label for item in self.items)
        unit = "rows" if self.split_by_rows else "files"
        first, last = self.items[0].label, self.items[-1].label
        return f"{first} … {last} ({self.item_count} {unit})"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "items": [item.to_dict() for item in self.items]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MiniBatch:
        return cls(id=data["id"], items=tuple(Item.from_dict(item) for item in data["items"]))


def list_input_files(root: Path) -> list[Item]:
    """The files of a ``uri_folder`` (recursively) or a ``uri_file``, sorted by relative path.

    Hidden files and folders (``.DS_Store``, ``.ipynb_checkpoints``) are skipped: they are never
    data a user meant to score.
    """
    if root.is_file():
        return [Item(path=str(root), name=root.name)]
    if not root.is_dir():
        raise Invalid(f"the job input {root} does not exist")
    found: list[tuple[str, str]] = []
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        for filename in filenames:
            if not filename.startswith("."):
                path = Path(folder) / filename
                found.append((path.relative_to(root).as_posix(), str(path)))
    found.sort()
    return [Item(path=path, name=name) for name, path in found]


def plan_mini_batches(
    files: Sequence[Item], settings: BatchSettings, count_rows: RowCounter | None = None
) -> list[MiniBatch]:
    """Group files ``mini_batch_size`` at a time, or, with ``mini_batch_rows``, rows of tabular
    files ``mini_batch_rows`` at a time (a mini-batch may continue into the next file).

    CSV rows are counted (and located) here; ``count_rows`` counts the rows of other tabular
    files, and must be given for Parquet.
    """
    if not files:
        raise Invalid("the job input holds no files to score")
    if settings.mini_batch_rows is None:
        size = settings.mini_batch_size
        return [
            MiniBatch(id=number, items=tuple(files[start : start + size]))
            for number, start in enumerate(range(0, len(files), size))
        ]
    return _plan_row_batches(files, settings.mini_batch_rows, count_rows)


def _plan_row_batches(
    files: Sequence[Item], rows_per_batch: int, count_rows: RowCounter | None
) -> list[MiniBatch]:
    batches: list[MiniBatch] = []
    current: list[Item] = []
    room = rows_per_batch
    for file in files:
        suffix = Path(file.name).suffix.lower()
        if suffix not in TABULAR_SUFFIXES:
            raise Invalid(
                f"mini_batch_rows splits CSV and Parquet files by rows, but {file.name} is neither"
            )
        offsets: dict[int, int] = {}
        if suffix == ".csv":
            # Mini-batches start in this file at row `room % rows_per_batch`, then every
            # rows_per_batch rows: find where those rows start while counting.
            total, offsets = locate_csv_rows(file.path, room % rows_per_batch, rows_per_batch)
        elif count_rows is not None:
            total = count_rows(file.path)
        else:
            raise Invalid(f"cannot count the rows of {file.name} without the deployment's pyarrow")
        start = 0
        while start < total:
            stop = min(total, start + room)
            offset = offsets.get(start)
            current.append(Item(file.path, file.name, start=start, stop=stop, offset=offset))
            room -= stop - start
            start = stop
            if room == 0:
                batches.append(MiniBatch(id=len(batches), items=tuple(current)))
                current, room = [], rows_per_batch
    if current:
        batches.append(MiniBatch(id=len(batches), items=tuple(current)))
    if not batches:
        raise Invalid("the job input's files hold no data rows to score")
    return batches


def count_csv_rows(path: str) -> int:
    """Data rows of a CSV file (its header excluded), without loading it."""
    return locate_csv_rows(path, 0, 1 << 62)[0]


def locate_csv_rows(path: str, first: int, step: int) -> tuple[int, dict[int, int]]:
    """The data rows of a CSV file, and the byte offsets at which rows ``first``, ``first +
    step``, ... begin.

    A file without any quote character cannot hold a line break inside a field, so its rows are
    its lines: counting and locating them is exact and fast. A file with quotes is parsed with
    the csv module instead, and no offsets are returned (its workers parse up to their rows).
    """
    offsets: dict[int, int] = {}
    lines = 0  # line breaks before the current chunk
    position = 0  # byte offset of the current chunk
    target = first
    quoted = False
    last = b"\n"
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            quoted = quoted or b'"' in chunk
            found = chunk.count(b"\n")
            cursor, seen = 0, lines
            # Data row r starts right after line break number r + 1 (the header ends at the 1st).
            while not quoted and target + 1 <= lines + found:
                for _ in range(target + 1 - seen):
                    cursor = chunk.index(b"\n", cursor) + 1
                seen = target + 1
                offsets[target] = position + cursor
                target += step
            lines += found
            position += len(chunk)
            last = chunk[-1:]
    records = lines + (position > 0 and last != b"\n")
    if quoted:
        with open(path, newline="", encoding="utf-8") as text:
            records = sum(1 for _ in csv.reader(text))
        offsets = {}
    total = max(records - 1, 0)
    return total, {row: offset for row, offset in offsets.items() if row < total}

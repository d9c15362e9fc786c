"""A job's outputs, for download (one file, or a folder's listing and its files) and for a
preview of their first rows."""

from __future__ import annotations

import csv
import importlib
import io
import itertools
import json
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy.orm import Session

from wharf.errors import Conflict, NotFound
from wharf.services import job_storage, jobs
from wharf.services.platform import Platform
from wharf.states import JobStatus
from wharf.storage.paths import check_datastore_path
from wharf.storage.resolver import Location
from wharf.store.models import Workspace


@dataclass(frozen=True)
class OutputView:
    """Where an output is: a file to stream (``files`` is None), or a folder and its files."""

    location: Location
    reference: str
    files: list[str] | None = None


def open_output(
    session: Session,
    platform: Platform,
    workspace: Workspace,
    job_name: str,
    output: str,
    path: str | None = None,
) -> OutputView:
    """The output ``output`` of a Completed job; ``path`` picks one file of a folder output."""
    job = jobs.read_job(session, workspace, job_name)
    if output not in job.outputs:
        has = ", ".join(job.outputs) or "none"
        raise NotFound(f"job {job_name!r} has no output {output!r} (it has {has})")
    if job.status != JobStatus.COMPLETED:
        raise Conflict(f"job {job_name!r} is {job.status}: its outputs are there once Completed")
    reference: str = job.outputs[output]["path"]
    what = f"output {output!r}"
    location = job_storage.locate(session, platform, workspace, reference, what=what)
    kind = job_storage.path_kind(location)
    if kind is None:
        raise NotFound(f"{what} of job {job_name!r} was not written ({reference} does not exist)")
    if kind == "uri_file":
        return OutputView(location, reference)
    if path:
        check_datastore_path(path)
        inner = job_storage.locate(
            session, platform, workspace, reference.rstrip("/") + "/" + path, what=what
        )
        if job_storage.path_kind(inner) != "uri_file":
            raise NotFound(f"{what} of job {job_name!r} has no file {path!r}")
        return OutputView(inner, reference.rstrip("/") + "/" + path)
    root = location.path.rstrip("/")
    with location.translate_errors():
        found = location.fs.find(root)
    files = sorted(str(name)[len(root) + 1 :] for name in found if str(name).startswith(root + "/"))
    return OutputView(location, reference, files)


PREVIEW_ROWS = 50
"""Rows a preview shows at most."""
PREVIEW_BYTES = 1024 * 1024
"""Bytes a preview reads at most (of a CSV or JSON lines file; a Parquet file's first row
group must be this small)."""
PREVIEW_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}


@dataclass(frozen=True)
class OutputPreview:
    """The first rows of an output file, as text, or why there are none (``unavailable``)."""

    reference: str
    format: str | None
    columns: list[str]
    rows: list[list[str]]
    truncated: bool
    """The file holds more than the rows shown."""
    unavailable: str | None = None


def preview_output(
    session: Session,
    platform: Platform,
    workspace: Workspace,
    job_name: str,
    output: str,
    path: str | None = None,
    *,
    rows: int = PREVIEW_ROWS,
    max_bytes: int = PREVIEW_BYTES,
) -> OutputPreview:
    """The first ``rows`` rows of a CSV, JSON lines or Parquet output, reading at most
    ``max_bytes``; a folder output previews ``path``, or its first file in one of those
    formats. Blocking storage I/O: call it on the storage pool."""
    view = open_output(session, platform, workspace, job_name, output, path)
    if view.files is not None:
        first = next((f for f in view.files if _format_of(f) is not None), None)
        if first is None:
            return OutputPreview(view.reference, None, [], [], False, _NOTHING_TO_PREVIEW)
        view = open_output(session, platform, workspace, job_name, output, first)
    fmt = _format_of(view.reference)
    if fmt is None:
        return OutputPreview(view.reference, None, [], [], False, _NOTHING_TO_PREVIEW)
    location = view.location
    with location.translate_errors():
        if fmt == "parquet":
            columns, found, more, why = _read_parquet(location, rows, max_bytes)
        else:
            with location.fs.open(location.path, "rb") as handle:
                data = handle.read(max_bytes + 1)
            read = _read_csv if fmt == "csv" else _read_jsonl
            columns, found, more = read(data[:max_bytes], rows)
            more = more or len(data) > max_bytes
            why = None
    return OutputPreview(view.reference, fmt, columns, found, more, why)


_NOTHING_TO_PREVIEW = "only CSV, JSON lines and Parquet files have a preview: download it"


def _format_of(name: str) -> str | None:
    suffix = PurePosixPath(name.rstrip("/")).suffix.lower()
    return PREVIEW_FORMATS.get(suffix)


def _whole_lines(data: bytes) -> str:
    """The text up to its last line end (a read that stopped mid-line drops that line)."""
    end = data.rfind(b"\n")
    kept = data if end < 0 or end == len(data) - 1 else data[: end + 1]
    return kept.decode("utf-8", "replace")


def _read_csv(data: bytes, rows: int) -> tuple[list[str], list[list[str]], bool]:
    reader = csv.reader(io.StringIO(_whole_lines(data)))
    columns = next(reader, [])
    found = list(itertools.islice(reader, rows + 1))
    return columns, found[:rows], len(found) > rows


def _read_jsonl(data: bytes, rows: int) -> tuple[list[str], list[list[str]], bool]:
    lines = [line for line in _whole_lines(data).splitlines() if line.strip()]
    records: list[dict[str, Any]] = []
    for line in lines[:rows]:
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            value = {"line": line}
        records.append(value if isinstance(value, dict) else {"value": value})
    columns = list(dict.fromkeys(key for record in records for key in record))
    found = [[_cell(record.get(column)) for column in columns] for record in records]
    return columns, found, len(lines) > rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _read_parquet(
    location: Location, rows: int, max_bytes: int
) -> tuple[list[str], list[list[str]], bool, str | None]:
    """Parquet needs pyarrow, which the server does not require (deployments bring their own):
    without it the preview says so."""
    try:
        parquet: Any = importlib.import_module("pyarrow.parquet")
    except ImportError:
        why = "a Parquet preview needs pyarrow installed with the server: download the file"
        return [], [], False, why
    with location.fs.open(location.path, "rb") as handle:
        reader = parquet.ParquetFile(handle)
        metadata = reader.metadata
        columns = [str(name) for name in reader.schema_arrow.names]
        if metadata.num_row_groups == 0:
            return columns, [], False, None
        if metadata.row_group(0).total_byte_size > max_bytes:
            why = f"its first row group is larger than {max_bytes} bytes: download the file"
            return columns, [], True, why
        table = reader.read_row_group(0).slice(0, rows)
    found = [[_cell(row.get(column)) for column in columns] for row in table.to_pylist()]
    return columns, found, metadata.num_rows > len(found), None

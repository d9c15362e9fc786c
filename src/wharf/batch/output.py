"""Staged mini-batch results and the final output file that concatenates them in input order.

Each attempt writes its own ``.partial`` file; the controller renames an accepted attempt's file
onto the mini-batch's staged file (``os.replace`` is atomic), so running a mini-batch again
replaces its rows and never adds to them. The final writer concatenates staged files in
mini-batch order into a temporary file and renames it onto the output, so the output is either
absent, or complete with each input item exactly once.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from wharf.batch.executor import WORKER_SCRIPT

Wrap = Callable[[Sequence[str]], list[str]]
"""Turns a command into the one that runs in the workers' sandbox (``WorkerLaunch.wrap``)."""

STAGING_FOLDER = "staged"


class OutputError(Exception):
    """The final output could not be written (the job fails with this message)."""


def staging_dir(job_dir: Path) -> Path:
    return job_dir / STAGING_FOLDER


def attempt_path(job_dir: Path, batch_id: int, attempt: int, fmt: str) -> Path:
    """Where one attempt writes: a name no other attempt uses."""
    return staging_dir(job_dir) / f"{batch_id:06d}.attempt-{attempt}.{fmt}.partial"


def staged_path(job_dir: Path, batch_id: int, fmt: str) -> Path:
    """The accepted result of a mini-batch."""
    return staging_dir(job_dir) / f"{batch_id:06d}.{fmt}"


def commit_attempt(partial: Path, staged: Path) -> None:
    """Make an accepted attempt's file the mini-batch's staged result, replacing any earlier one."""
    os.replace(partial, staged)


def discard_staging(job_dir: Path) -> None:
    """Remove the staged results once the job's final state is recorded (not before: a
    controller that dies after writing the output rewrites it from them)."""
    shutil.rmtree(staging_dir(job_dir), ignore_errors=True)


def write_final_output(
    sources: Sequence[Path],
    target: Path,
    fmt: str,
    interpreter: str,
    wrap: Wrap = list,
    env: Mapping[str, str] | None = None,
) -> None:
    """Concatenate staged files, in the given order, into ``target`` (atomically).

    CSV and JSON lines are merged here with the standard library; Parquet is merged by the
    deployment's interpreter, whose requirements bring pyarrow (the server's need not), in the
    command ``wrap`` makes of it (the workers' sandbox).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    if fmt == "csv":
        merge_csv(sources, partial)
    elif fmt == "jsonl":
        merge_jsonl(sources, partial)
    else:
        merge_parquet(sources, partial, interpreter, wrap, env)
    with partial.open("rb") as written:
        os.fsync(written.fileno())
    os.replace(partial, target)


def merge_jsonl(sources: Sequence[Path], target: Path) -> None:
    with target.open("wb") as out:
        for source in sources:
            with source.open("rb") as handle:
                shutil.copyfileobj(handle, out)
                if handle.tell() > 0:
                    handle.seek(-1, os.SEEK_END)
                    if handle.read(1) != b"\n":
                        out.write(b"\n")


def merge_csv(sources: Sequence[Path], target: Path) -> None:
    """One header, then every staged file's rows. When mini-batches returned different columns,
    the header is their union (in order of first appearance) and missing cells are empty."""
    headers: list[tuple[Path, tuple[int, list[str]]]] = []
    for source in sources:
        header = read_csv_header(source)
        if header is not None:
            headers.append((source, header))
    columns: list[str] = list(dict.fromkeys(col for _, (_, cols) in headers for col in cols))
    with target.open("wb") as out:
        if not headers:
            return
        out.write(_csv_line(columns))
        for source, (header_size, source_columns) in headers:
            with source.open("rb") as handle:
                if source_columns == columns:
                    handle.seek(header_size)
                    shutil.copyfileobj(handle, out)
                else:
                    _rewrite_rows(handle, columns, out)


def read_csv_header(path: Path) -> tuple[int, list[str]] | None:
    """(size in bytes, column names) of a CSV file's header record; None for an empty file.

    The header ends at the first line break outside quotes, so quoted names may hold newlines.
    """
    with path.open("rb") as handle:
        data = b""
        while chunk := handle.read(1 << 16):
            data += chunk
            end = _end_of_first_record(data)
            if end is not None:
                break
        else:
            end = len(data) if data else None
    if end is None:
        return None
    text = data[:end].decode("utf-8")
    return end, next(csv.reader([text.rstrip("\r\n")]), [])


def _end_of_first_record(data: bytes) -> int | None:
    quoted = False
    for index, byte in enumerate(data):
        if byte == ord('"'):
            quoted = not quoted
        elif byte == ord("\n") and not quoted:
            return index + 1
    return None


def _rewrite_rows(handle: io.BufferedReader, columns: list[str], out: io.BufferedWriter) -> None:
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="", lineterminator="\n")
    for row in csv.DictReader(text):
        writer.writerow(row)
        if buffer.tell() > 1 << 20:
            out.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
    out.write(buffer.getvalue().encode("utf-8"))
    text.detach()


def _csv_line(values: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue().encode("utf-8")


def merge_parquet(
    sources: Sequence[Path],
    target: Path,
    interpreter: str,
    wrap: Wrap = list,
    env: Mapping[str, str] | None = None,
) -> None:
    command = [interpreter, str(WORKER_SCRIPT), "merge-parquet", str(target)]
    completed = subprocess.run(
        wrap([*command, *map(str, sources)]),
        capture_output=True,
        text=True,
        env=None if env is None else dict(env),
        check=False,
        start_new_session=True,
    )
    if completed.returncode != 0:
        tail = completed.stderr.strip().splitlines()[-1:] or [f"exit code {completed.returncode}"]
        raise OutputError(f"writing the Parquet output failed: {tail[0]}")

"""Log files of replicas, builds and jobs: rotated by size, read in bounded pieces.

Rotation keeps ``backups`` generations: ``job.log`` becomes ``job.log.1``, the old ``.1``
becomes ``.2``, and so on; the oldest is dropped. Two ways, for two kinds of writer:

- a file only the server writes (a build's log) is *renamed* and opened afresh;
- a file that child processes write through an inherited descriptor (a replica's output, batch
  workers' stderr in a job log) is *copied, then truncated in place*, as logrotate's
  ``copytruncate`` does: the children keep their descriptor, opened for appending, and their
  next line lands at the start of the emptied file. A line written in the instant between the
  copy and the truncation can be lost; that is the price of not restarting the writer.

Readers never hold a whole file: :class:`LogFollower` hands out pieces of at most ``CHUNK``
bytes and notices a rotation (the file shrank, or is another file), finishing the rotated
generation before it starts on the new one. Its methods block: call them on a worker thread.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from wharf.config import Settings

CHUNK = 256 * 1024
"""The most a reader takes in one piece."""
TAIL_LIMIT = 4 * 1024 * 1024
"""The most a tail reads backwards looking for line ends (a file of one endless line)."""


@dataclass(frozen=True)
class LogRotation:
    max_bytes: int = 10 * 1024 * 1024
    backups: int = 3

    @classmethod
    def of(cls, settings: Settings) -> LogRotation:
        return cls(settings.log_max_bytes, settings.log_backups)


def generation(path: Path, number: int) -> Path:
    """``path`` itself for 0, else ``<path>.<number>``."""
    return path if number == 0 else path.with_name(f"{path.name}.{number}")


def _shift_generations(path: Path, backups: int) -> None:
    """Make room for a new ``.1``: ``.n-1`` → ``.n``, the oldest dropped."""
    generation(path, backups).unlink(missing_ok=True)
    for number in range(backups - 1, 0, -1):
        older = generation(path, number)
        if older.exists():
            older.replace(generation(path, number + 1))


def rotate_by_rename(path: Path, rotation: LogRotation) -> None:
    """For a file only this process writes, and has closed."""
    if rotation.backups == 0:
        path.unlink(missing_ok=True)
        return
    _shift_generations(path, rotation.backups)
    with contextlib.suppress(FileNotFoundError):
        path.replace(generation(path, 1))


def rotate_by_copy(path: Path, rotation: LogRotation) -> None:
    """For a file that other processes append to through descriptors of their own."""
    if rotation.backups > 0:
        _shift_generations(path, rotation.backups)
        with contextlib.suppress(FileNotFoundError):
            shutil.copyfile(path, generation(path, 1))
    with contextlib.suppress(FileNotFoundError), path.open("r+b") as handle:
        handle.truncate(0)


def rotate_if_large(path: Path, rotation: LogRotation | None) -> bool:
    """Copy-truncate ``path`` when it has reached ``max_bytes``; whether it did."""
    if rotation is None:
        return False
    try:
        if path.stat().st_size < rotation.max_bytes:
            return False
    except FileNotFoundError:
        return False
    rotate_by_copy(path, rotation)
    return True


class RotatingLogFile:
    """A text log this process alone writes, line by line, rotated by rename when full."""

    def __init__(self, path: Path, rotation: LogRotation) -> None:
        self.path = path
        self.rotation = rotation
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = path.open("a", encoding="utf-8")

    def write(self, text: str) -> None:
        self._handle.write(text)
        self._handle.flush()
        if self._handle.tell() >= self.rotation.max_bytes:
            self._handle.close()
            rotate_by_rename(self.path, self.rotation)
            self._handle = self.path.open("a", encoding="utf-8")

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class LogFollower:
    """Reads one log from a starting point onwards, across rotations, a piece at a time.

    ``from_start``: the kept rotated generations (oldest first), then the file. Otherwise
    only what is added after ``start_at`` (a byte offset in the current file)."""

    def __init__(self, path: Path, *, from_start: bool = True, start_at: int = 0) -> None:
        self.path = path
        self.offset = start_at
        self._inode: int | None = None
        self._older: list[Path] = []
        self._older_offset = 0
        if from_start:
            number = 1
            while generation(path, number).exists():
                number += 1
            self._older = [generation(path, n) for n in range(number - 1, 0, -1)]
        with contextlib.suppress(FileNotFoundError):
            self._inode = path.stat().st_ino

    def read(self, limit: int = CHUNK) -> bytes:
        """The next piece (``b""`` when there is nothing new yet)."""
        while self._older:
            chunk = _read_at(self._older[0], self._older_offset, limit)
            if chunk:
                self._older_offset += len(chunk)
                return chunk
            self._older.pop(0)
            self._older_offset = 0
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return b""
        if (self._inode is not None and stat.st_ino != self._inode) or stat.st_size < self.offset:
            # Rotated since the last read: the rest of what we were reading is ``.1`` now.
            self._older = [generation(self.path, 1)]
            self._older_offset = self.offset
            self.offset = 0
            self._inode = stat.st_ino
            return self.read(limit)
        self._inode = stat.st_ino
        chunk = _read_at(self.path, self.offset, limit)
        self.offset += len(chunk)
        return chunk


def _read_at(path: Path, offset: int, limit: int) -> bytes:
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read(limit)
    except FileNotFoundError:
        return b""


def read_tail(path: Path, lines: int, *, block: int = 64 * 1024) -> tuple[list[bytes], int]:
    """The last ``lines`` complete lines of the log (reaching into ``.1`` when the file has
    fewer), read backwards from the end; and the current file's size, to follow from."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        size = 0
    found = _tail_of(path, lines, block) if size else []
    if len(found) < lines:
        found = _tail_of(generation(path, 1), lines - len(found), block) + found
    return found, size


def _tail_of(path: Path, lines: int, block: int) -> list[bytes]:
    if lines <= 0:
        return []
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return []
    with handle:
        end = handle.seek(0, os.SEEK_END)
        position, data = end, b""
        while position > 0 and data.count(b"\n") <= lines and len(data) < TAIL_LIMIT:
            step = min(block, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
    found = data.splitlines()
    return found[-lines:]

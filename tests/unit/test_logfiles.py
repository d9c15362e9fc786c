"""Log files rotate by size, keep their generations, and readers follow across a rotation."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from wharf.api.logstream import stream_log
from wharf.batch.joblog import JobLog
from wharf.logfiles import (
    CHUNK,
    LogFollower,
    LogRotation,
    RotatingLogFile,
    generation,
    read_tail,
    rotate_if_large,
)

SMALL = LogRotation(max_bytes=1000, backups=2)


def read_all(follower: LogFollower) -> bytes:
    data = b""
    while chunk := follower.read():
        data += chunk
    return data


def read_at_least(follower: LogFollower, size: int, timeout: float = 30) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < size:
        assert time.monotonic() < deadline, f"only {len(data)} bytes arrived"
        data += follower.read()
        time.sleep(0.01)
    return data


def test_a_server_written_log_rotates_by_rename_and_keeps_its_generations(
    tmp_path: Path,
) -> None:
    path = tmp_path / "build.log"
    with RotatingLogFile(path, SMALL) as log:
        for n in range(100):
            log.write(f"line {n:03d} " + "x" * 40 + "\n")
    assert path.exists()
    assert generation(path, 1).exists()
    assert generation(path, 2).exists()
    assert not generation(path, 3).exists()  # only two backups are kept
    for kept in (path, generation(path, 1), generation(path, 2)):
        assert kept.stat().st_size <= SMALL.max_bytes + 60
    # The kept generations, oldest first, then the file: the newest lines, in order.
    text = read_all(LogFollower(path)).decode()
    numbers = [int(line.split()[1]) for line in text.splitlines()]
    assert numbers == list(range(numbers[0], 100))
    assert numbers[0] > 0  # the oldest generation was dropped


def test_a_child_process_keeps_writing_after_a_copy_truncate(tmp_path: Path) -> None:
    path = tmp_path / "replica-0.log"
    script = "import sys\nfor line in sys.stdin:\n    print(line.strip(), flush=True)\n"
    with path.open("ab") as out:
        child = subprocess.Popen(
            [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=out, text=True
        )
    assert child.stdin is not None
    child.stdin.write("before " + "y" * 1200 + "\n")
    child.stdin.flush()
    follower = LogFollower(path)
    seen = read_at_least(follower, 1200)
    assert seen.startswith(b"before")
    assert rotate_if_large(path, SMALL)
    child.stdin.write("after\n")
    child.stdin.close()
    child.wait(timeout=30)
    assert path.read_text() == "after\n"  # appended at the start of the emptied file
    assert generation(path, 1).read_text().startswith("before")
    # The follower had read all of the old file: it goes on with the new one.
    assert read_all(follower) == b"after\n"


def test_a_follower_finishes_the_rotated_file_before_the_new_one(tmp_path: Path) -> None:
    path = tmp_path / "job.log"
    path.write_bytes(b"a" * 600)
    follower = LogFollower(path)
    assert follower.read(100) == b"a" * 100
    with path.open("ab") as handle:
        handle.write(b"b" * 600)
    assert rotate_if_large(path, SMALL)
    path.write_bytes(b"c" * 10)
    assert read_all(follower) == b"a" * 500 + b"b" * 600 + b"c" * 10


def test_a_follower_reads_in_bounded_pieces(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    path.write_bytes(b"z" * (CHUNK * 3 + 5))
    follower = LogFollower(path)
    sizes = []
    while chunk := follower.read():
        sizes.append(len(chunk))
    assert sizes == [CHUNK, CHUNK, CHUNK, 5]


def test_the_tail_reads_from_the_end_and_reaches_into_the_previous_generation(
    tmp_path: Path,
) -> None:
    path = tmp_path / "replica-0.log"
    generation(path, 1).write_text("".join(f"old {n}\n" for n in range(50)))
    path.write_text("new 0\nnew 1\n")
    lines, size = read_tail(path, 4)
    assert lines == [b"old 48", b"old 49", b"new 0", b"new 1"]
    assert size == path.stat().st_size
    assert read_tail(tmp_path / "missing.log", 3) == ([], 0)


def test_the_job_log_rotates_once_it_is_full(tmp_path: Path) -> None:
    log = JobLog(tmp_path / "job.log", SMALL)
    for n in range(40):
        log.write(f"mini-batch {n} sent " + "w" * 30)
    assert generation(log.path, 1).exists()
    assert log.path.stat().st_size < SMALL.max_bytes
    unrotated = JobLog(tmp_path / "plain.log")
    for n in range(40):
        unrotated.write(f"mini-batch {n} sent " + "w" * 30)
    assert not generation(unrotated.path, 1).exists()
    assert os.path.getsize(unrotated.path) > SMALL.max_bytes


def test_a_followed_log_streams_on_across_a_rotation(tmp_path: Path) -> None:
    path = tmp_path / "7.log"
    rotation = LogRotation(max_bytes=64, backups=1)
    writer = RotatingLogFile(path, rotation)
    writer.write("first line of the build\n")
    ended = threading.Event()

    async def follow() -> bytes:
        received = b""
        async for chunk in stream_log(path, follow=True, finished=ended.is_set):
            received += chunk
            if b"first" in received and b"second" not in received:
                # The writer goes on past the limit (a rename rotation), then ends.
                writer.write("second line, long enough to pass the limit\n")
                writer.write("third line, in the new file\n")
                writer.close()
                ended.set()
        return received

    received = asyncio.run(follow())
    assert received.decode().splitlines() == [
        "first line of the build",
        "second line, long enough to pass the limit",
        "third line, in the new file",
    ]
    assert generation(path, 1).exists()

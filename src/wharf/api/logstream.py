"""Streaming log files to API callers: builds and jobs (``?follow=true``), app replicas.

Files are read on worker threads, a bounded piece at a time (:class:`wharf.logfiles.LogFollower`),
so a large log neither blocks the event loop nor sits whole in memory, and a follow carries on
across a rotation.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from starlette.requests import Request

from wharf.logfiles import LogFollower, read_tail

FOLLOW_POLL_SECONDS = 0.25


async def _drain(follower: LogFollower) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(follower.read):
        yield chunk


async def stream_log(
    path: Path, *, follow: bool, finished: Callable[[], bool]
) -> AsyncIterator[bytes]:
    """The log (its kept rotated generations first); with ``follow``, then what is added,
    until ``finished()`` (run on a worker thread: it may query the store) says the writer is
    done."""
    follower = LogFollower(path)
    while True:
        async for chunk in _drain(follower):
            yield chunk
        if not follow:
            return
        if await asyncio.to_thread(finished):
            async for chunk in _drain(follower):  # the last lines came in as the writer ended
                yield chunk
            return
        await asyncio.sleep(FOLLOW_POLL_SECONDS)


class _ReplicaLog:
    """One replica's log: whole lines only, each prefixed with the replica's name."""

    def __init__(self, path: Path, start_at: int) -> None:
        self.prefix = f"[{path.stem}] ".encode()
        self.follower = LogFollower(path, from_start=False, start_at=start_at)
        self.partial = b""

    def read_lines(self) -> list[bytes]:
        """Complete new lines (blocks: call on a worker thread)."""
        data = self.partial
        while chunk := self.follower.read():
            data += chunk
            if len(data) > 1024 * 1024:
                break  # hand these out before reading on
        complete, _, self.partial = data.rpartition(b"\n")
        return [self.prefix + line + b"\n" for line in complete.split(b"\n")] if complete else []


async def stream_replica_logs(
    request: Request, paths: list[Path], tail: int, follow: bool
) -> AsyncIterator[bytes]:
    """The last ``tail`` lines of each replica's log; with ``follow``, then new lines as they
    come, until the caller goes away."""
    logs = []
    for path in paths:
        lines, size = await asyncio.to_thread(read_tail, path, tail)
        prefix = f"[{path.stem}] ".encode()
        if lines:
            yield b"".join(prefix + line + b"\n" for line in lines)
        logs.append(_ReplicaLog(path, size))
    while follow and not await request.is_disconnected():
        for log in logs:
            lines = await asyncio.to_thread(log.read_lines)
            if lines:
                yield b"".join(lines)
        await asyncio.sleep(FOLLOW_POLL_SECONDS)

"""Streaming a log file that is still being written (builds, jobs), for ``?follow=true``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

FOLLOW_POLL_SECONDS = 0.25


async def stream_log(
    path: Path, *, follow: bool, finished: Callable[[], bool]
) -> AsyncIterator[bytes]:
    """What the file holds; with ``follow``, then what is added, until ``finished()`` (run
    on a worker thread: it may query the store) says the writer is done."""
    offset = 0
    while True:
        if path.exists():
            with path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
            if chunk:
                offset += len(chunk)
                yield chunk
        if not follow or await asyncio.to_thread(finished):
            if path.exists() and path.stat().st_size > offset:
                continue  # the last lines came in after the writer ended
            return
        await asyncio.sleep(FOLLOW_POLL_SECONDS)

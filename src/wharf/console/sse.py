"""Server-Sent Events: an async iterator of ``(event, data)`` as a ``text/event-stream``.

The stream ends when the iterator does, or when the browser goes away (the iterator is then
closed, so whatever it follows is released).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import StreamingResponse

HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def format_event(event: str, data: str) -> str:
    """One event; each line of ``data`` its own ``data:`` field (the browser joins them)."""
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {event}\n{lines}\n"


async def _frames(request: Request, events: AsyncIterator[tuple[str, str]]) -> AsyncIterator[str]:
    try:
        async for event, data in events:
            if await request.is_disconnected():
                break
            yield format_event(event, data)
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()


async def log_lines(
    chunks: AsyncIterator[bytes], event: str = "line"
) -> AsyncIterator[tuple[str, str]]:
    """Events of complete lines from a log's byte chunks (several lines to an event); a
    last line without its newline is sent when the log ends."""
    pending = b""
    async for chunk in chunks:
        pending += chunk
        complete, _, pending = pending.rpartition(b"\n")
        if complete:
            yield event, complete.decode("utf-8", errors="replace")
    if pending:
        yield event, pending.decode("utf-8", errors="replace")


def event_stream(request: Request, events: AsyncIterator[tuple[str, str]]) -> StreamingResponse:
    """A response that sends ``events`` as they come."""
    return StreamingResponse(
        _frames(request, events), media_type="text/event-stream", headers=HEADERS
    )

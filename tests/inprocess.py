"""Run the ASGI app in-process, lifespan included, behind a synchronous httpx transport.

The SDK is synchronous; httpx's ASGITransport is asynchronous. This bridges the two with an
anyio blocking portal (an event loop on a helper thread), so SDK tests exercise the real app
without a network socket.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import anyio.from_thread
import httpx
from fastapi import FastAPI


class PortalTransport(httpx.BaseTransport):
    """A sync transport that hands each request to ``httpx.ASGITransport`` on the portal."""

    def __init__(self, app: FastAPI, portal: anyio.from_thread.BlockingPortal) -> None:
        self._portal = portal
        self._asgi = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def send() -> httpx.Response:
            async_request = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            response = await self._asgi.handle_async_request(async_request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return self._portal.call(send)


@contextmanager
def serve_in_process(app: FastAPI) -> Iterator[PortalTransport]:
    """Start the app's lifespan; yield a transport to it; shut the lifespan down after."""
    with ExitStack() as stack:
        portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
        stack.enter_context(portal.wrap_async_context_manager(app.router.lifespan_context(app)))
        yield PortalTransport(app, portal)

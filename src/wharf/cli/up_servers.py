"""The listening side of ``wharf up``: plain HTTP, and HTTPS on its own port when asked.

Both are uvicorn servers on one event loop around one ASGI app, so they share everything the
app holds (the route registry, replicas, connection pools, the store) and the app's lifespan
runs once, owned by the HTTP server; the HTTPS one has ``lifespan="off"``. It starts only
after the lifespan has started (no request reaches an app that is not ready) and stops when
the HTTP server is told to, so Ctrl-C and SIGTERM stop both. They share uvicorn's record of
open connections, so the lifespan's shutdown waits for requests on either port.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import uvicorn

from wharf.api import create_app

if TYPE_CHECKING:
    from fastapi import FastAPI

    from wharf.config import Settings
    from wharf.services.tls import TlsFiles

_STARTUP_POLL = 0.05

OnReady = Callable[["FastAPI", Callable[[], bool]], None]
"""Called once the server listens (its lifespan has started), on a thread of its own, with
the app and a function that says whether the server is stopping."""


class _Companion(uvicorn.Server):
    """The HTTPS server: it leaves signals to the HTTP server and ends when that one does."""

    def __init__(self, config: uvicorn.Config, leader: uvicorn.Server) -> None:
        super().__init__(config)
        self._leader = leader

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the leader handles them; two handlers would each swallow the other's

    async def on_tick(self, counter: int) -> bool:
        if self._leader.should_exit:
            return True
        return await super().on_tick(counter)


def _config(app: Any, settings: Settings, port: int, **extra: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=port,
        log_level=settings.log_level,
        log_config=None,  # configure_logging did it: one format for every line
        access_log=False,  # Wharf writes its own (wharf.access), with request ids
        timeout_graceful_shutdown=10,
        # llhttp, strict (docs/runtime.md); WebSockets for app routes, bounded as they are.
        http="httptools",
        ws="websockets-sansio",
        ws_max_size=settings.route_websocket_max_message_bytes,
        **extra,
    )


def serve(settings: Settings, tls: TlsFiles | None, on_ready: OnReady | None = None) -> None:
    """Serve until Ctrl-C or SIGTERM: HTTP on ``port``, and HTTPS on the TLS port when
    ``tls`` is given. ``on_ready`` runs beside the server once it answers."""
    app = create_app(settings)
    leader = uvicorn.Server(_config(app, settings, settings.port))
    threading.Thread(
        target=_when_started, args=(leader, app, on_ready), name="wharf-on-ready", daemon=True
    ).start()
    # After a graceful shutdown uvicorn re-raises the signal; Ctrl-C's is a clean end here,
    # as ``uvicorn.run`` has it.
    with contextlib.suppress(KeyboardInterrupt):
        if tls is None:
            leader.run()
        else:
            _serve_with_tls(app, settings, tls, leader)


def _when_started(leader: uvicorn.Server, app: FastAPI, on_ready: OnReady | None) -> None:
    while not leader.started and not leader.should_exit:
        time.sleep(_STARTUP_POLL)
    if leader.started and not leader.should_exit:
        # What the server holds from its start on (modules, routes, schemas, mappers) is kept
        # out of the garbage collector's full passes: each walked all of it, pausing every
        # request for tens of milliseconds (measured: jobs p99 at 50 clients 1.4 s -> 0.1 s).
        gc.freeze()
        if on_ready is not None:
            on_ready(app, lambda: leader.should_exit)


def _serve_with_tls(app: Any, settings: Settings, tls: TlsFiles, leader: uvicorn.Server) -> None:
    companion = _Companion(
        _config(
            app,
            settings,
            settings.effective_tls_port,
            lifespan="off",
            ssl_certfile=str(tls.cert),
            ssl_keyfile=str(tls.key),
        ),
        leader,
    )
    # One set of connections for both: each server's shutdown waits for all of them, so the
    # lifespan (which stops replicas and closes the store) ends only after the last HTTPS
    # request did too, not while one is still being answered.
    companion.server_state = leader.server_state
    asyncio.run(_serve_both(leader, companion))


async def _serve_both(leader: uvicorn.Server, companion: _Companion) -> None:
    leading = asyncio.create_task(leader.serve())
    # uvicorn says nothing but its ``started`` flag when the lifespan is up and it listens.
    while not leader.started and not leading.done():
        await asyncio.sleep(_STARTUP_POLL)
    if leader.started and not leader.should_exit:
        try:
            await companion.serve()
        except SystemExit:  # uvicorn's answer to a port it could not bind: stop the other too
            leader.should_exit = True
            await leading
            raise
    await leading

"""The route class of every API router: a blocking endpoint costs one worker-thread hop, or
none.

FastAPI runs a plain ``def`` endpoint in the thread pool, then validates what it returned
against the response model in the thread pool again: two hops (each a queue, a wake-up and a
GIL hand-over) for every request. :class:`APIRoute` runs such an endpoint's body in the
thread pool itself, as one async endpoint, so the validation happens on the event loop. That
is safe because routes return response schemas they built themselves, never ORM objects
(validating one could read the store on the loop).

An endpoint marked :func:`store_read` only reads the store, a bounded amount. On an embedded
SQLite store it runs on the event loop, with no hop at all: measured, a hop and the GIL
hand-overs it brings cost several times the read itself once many requests run at once
(``bench/bench_api.py``). On PostgreSQL every read waits for the network, so it still runs in
a worker thread.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import routing
from starlette.concurrency import run_in_threadpool

from wharf.api.request_platform import RequestPlatform

_STORE_READ = "__wharf_store_read__"

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def store_read(endpoint: Endpoint) -> Endpoint:
    """Mark a blocking endpoint that only reads the store (no files, no network, a bounded
    number of rows) and takes the request's platform as ``platform``: see the module's
    docstring."""
    if "platform" not in inspect.signature(endpoint).parameters:
        raise TypeError(f"{endpoint.__name__}: a store_read endpoint takes `platform`")
    setattr(endpoint, _STORE_READ, True)
    return endpoint


def offloaded(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` as a coroutine that runs it in the thread pool (or, marked
    :func:`store_read`, on the loop when the store allows); FastAPI reads the same signature
    (parameters, dependencies, return annotation) through ``__wrapped__``."""
    reads_store = getattr(endpoint, _STORE_READ, False)

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        if reads_store and _reads_inline(kwargs["platform"]):
            return endpoint(*args, **kwargs)
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return run


def _reads_inline(platform: object) -> bool:
    return isinstance(platform, RequestPlatform) and platform.reads_inline


def _blocking(endpoint: Callable[..., Any]) -> bool:
    return (
        inspect.isfunction(endpoint)
        and not inspect.iscoroutinefunction(endpoint)
        and not inspect.isgeneratorfunction(endpoint)
        and not inspect.isasyncgenfunction(endpoint)
    )


class APIRoute(routing.APIRoute):
    """FastAPI's route, with blocking endpoints :func:`offloaded`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, offloaded(endpoint) if _blocking(endpoint) else endpoint, **kwargs)


class APIRouter(routing.APIRouter):
    """FastAPI's router, making :class:`APIRoute` routes: every Wharf router is one."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", APIRoute)
        super().__init__(**kwargs)

"""The route class of every API router: a blocking endpoint costs one worker-thread hop.

FastAPI runs a plain ``def`` endpoint in the thread pool, then validates what it returned
against the response model in the thread pool again: two hops (each a queue, a wake-up and a
GIL hand-over) for every request. :class:`APIRoute` runs such an endpoint's body in the
thread pool itself, as one async endpoint, so the validation happens on the event loop. That
is safe because routes return response schemas they built themselves, never ORM objects
(validating one could read the store on the loop).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi import routing
from starlette.concurrency import run_in_threadpool


def offloaded(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` as a coroutine that runs it in the thread pool; FastAPI reads the same
    signature (parameters, dependencies, return annotation) through ``__wrapped__``."""

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return run


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

"""The application factory. ``create_app`` has no side effects; the lifespan starts things."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from wharf.api.problems import install_problem_handlers
from wharf.api.routers import ROUTERS
from wharf.config import Settings
from wharf.services.build_runner import BuildRunner
from wharf.services.platform import start_platform
from wharf.version import __version__

API_PREFIX = "/api/v1"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    platform = await run_in_threadpool(start_platform, settings)
    app.state.platform = platform
    runner = BuildRunner(platform)
    await run_in_threadpool(runner.start)
    app.state.build_runner = runner
    try:
        yield
    finally:
        await run_in_threadpool(runner.stop)
        platform.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    """The Wharf server as an ASGI app. Nothing starts until the lifespan runs."""
    app = FastAPI(
        title="Wharf",
        version=__version__,
        description="Apps from git and batch endpoints, self-hosted.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings or Settings()
    install_problem_handlers(app)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    return app

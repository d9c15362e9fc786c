"""The application factory. ``create_app`` has no side effects; the lifespan starts things."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from wharf.api.docs_page import install_docs_page
from wharf.api.problems import install_problem_handlers
from wharf.api.routers import ROUTERS, hooks
from wharf.config import Settings
from wharf.runtime.proxy import RouteProxy
from wharf.runtime.registry import AppRegistry
from wharf.services.deployments import deploy_build, restore_apps
from wharf.services.platform import start_platform
from wharf.version import __version__
from wharf.workers import BuildRunner, JobRunner

API_PREFIX = "/api/v1"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    platform = await run_in_threadpool(start_platform, settings)
    app.state.platform = platform
    registry: AppRegistry = app.state.registry
    await run_in_threadpool(registry.start)

    def deploy(build_id: int) -> None:
        deploy_build(platform, registry, build_id)

    # Webhook URLs carry a secret: mask it in the access log while this app runs.
    redact = hooks.RedactHookSecrets()
    logging.getLogger("uvicorn.access").addFilter(redact)
    build_runner = BuildRunner(platform, on_complete=deploy)
    await run_in_threadpool(build_runner.start)
    platform.build_runner = build_runner
    job_runner = JobRunner(platform)
    await run_in_threadpool(job_runner.start)
    platform.job_runner = job_runner
    # Apps come back on their serving builds in the background: the API answers meanwhile.
    threading.Thread(
        target=restore_apps, args=(platform, registry), name="wharf-restore", daemon=True
    ).start()
    try:
        yield
    finally:
        await run_in_threadpool(job_runner.stop)
        await run_in_threadpool(build_runner.stop)
        await run_in_threadpool(registry.close)
        platform.close()
        logging.getLogger("uvicorn.access").removeFilter(redact)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The Wharf server as an ASGI app. Nothing starts until the lifespan runs."""
    app = FastAPI(
        title="Wharf",
        version=__version__,
        description="Apps from git and batch endpoints, self-hosted.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served by install_docs_page, with its assets from the package
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings = settings or Settings()
    # App routes (/apps/{ws}/{app}/..., {app}-{ws}.{apps_domain}) go to replicas; the rest to
    # the API. The registry does nothing until the lifespan starts it.
    app.state.registry = registry = AppRegistry(
        apps_domain=settings.apps_domain, logs_dir=settings.logs_dir
    )
    app.add_middleware(RouteProxy, registry=registry)
    install_problem_handlers(app)
    install_docs_page(app, API_PREFIX)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(hooks.router)  # /hooks/...: called by git hosts, outside the API
    return app

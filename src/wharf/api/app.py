"""The application factory. ``create_app`` has no side effects; the lifespan starts things."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from wharf.api.bodylimit import BodyLimit, route_limits
from wharf.api.docs_page import install_docs_page
from wharf.api.middleware import RequestObserver
from wharf.api.problems import install_problem_handlers
from wharf.api.routers import ROUTERS, hooks, metrics
from wharf.config import Settings
from wharf.logfiles import LogRotation
from wharf.metrics import Metrics
from wharf.runtime.proxy import RouteProxy
from wharf.runtime.registry import AppRegistry
from wharf.services.deployments import deploy_build, restore_apps
from wharf.services.platform import start_platform, warn_about_sandbox
from wharf.services.platform_state import read_platform_state
from wharf.services.retention import RetentionLoop
from wharf.services.workbench_runtime import WorkbenchRuntime
from wharf.version import __version__
from wharf.workers import BuildRunner, JobRunner, WorkbenchCuller

API_PREFIX = "/api/v1"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # The threads that run the API's blocking work (the event loop's default limiter).
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
    platform = await run_in_threadpool(start_platform, settings, app.state.metrics)
    app.state.platform = platform
    warn_about_sandbox(platform.sandbox)
    registry: AppRegistry = app.state.registry
    await run_in_threadpool(registry.start)
    platform.metrics.watch_state(lambda: read_platform_state(platform, registry))

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
    housekeeping = RetentionLoop(platform)
    housekeeping.start()
    # Nothing runs at a start: workbenches a stopped server left "Running" are Stopped.
    app.state.workbenches = notebooks = WorkbenchRuntime(platform, registry)
    await run_in_threadpool(notebooks.reset_states, "stopped when the server stopped")
    culler = WorkbenchCuller(notebooks, interval=settings.workbench_cull_interval)
    culler.start()
    # Apps come back on their serving builds in the background: the API answers meanwhile.
    restore = threading.Thread(
        target=restore_apps, args=(platform, registry), name="wharf-restore", daemon=True
    )
    restore.start()
    try:
        yield
    finally:
        await run_in_threadpool(culler.stop)
        notebooks.close()
        await run_in_threadpool(housekeeping.stop)
        await run_in_threadpool(job_runner.stop)
        await run_in_threadpool(build_runner.stop)
        await run_in_threadpool(registry.close)
        # A closed registry refuses the restore's deploys, so it ends soon; it must end before
        # the store closes, or its connections open a pool nothing closes any more.
        await run_in_threadpool(restore.join)
        await run_in_threadpool(notebooks.reset_states, "stopped when the server stopped")
        platform.metrics.unwatch_state()
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
        apps_domain=settings.apps_domain,
        logs_dir=settings.logs_dir,
        log_rotation=LogRotation.of(settings),
    )
    # One registry per app: in-process servers (tests) never share a series.
    app.state.metrics = app_metrics = Metrics()
    # Inside the proxy: app routes stream to replicas; API and webhook bodies are bounded here.
    limits = route_limits(settings.max_request_bytes, settings.max_upload_bytes)
    app.add_middleware(BodyLimit, limit_for=limits)
    app.add_middleware(
        RouteProxy,
        registry=registry,
        metrics=app_metrics,
        replay_limit=settings.route_replay_max_bytes,
        websocket_max_message=settings.route_websocket_max_message_bytes,
        websocket_idle_timeout=settings.route_websocket_idle_timeout,
        https_port=_own_https_port(settings),
    )
    # Added last, so outermost: app-route traffic gets a request id and an access line too.
    app.add_middleware(RequestObserver, metrics=app_metrics)
    install_problem_handlers(app)
    install_docs_page(app, API_PREFIX)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(hooks.router)  # /hooks/...: called by git hosts, outside the API
    app.include_router(metrics.router)  # /metrics: where Prometheus looks by default
    # The console's pages use the API's dependencies: imported here, so that either package
    # can be imported first.
    from wharf.console import install_console

    install_console(app)  # /: the web console, over the same services
    return app


def _own_https_port(settings: Settings) -> int | None:
    """The port Wharf serves https on itself; None when https is a proxy's in front (its
    URL keeps the host as the client asked) or not served at all."""
    behind_proxy = (settings.public_url or "").startswith("https://")
    if not settings.serves_tls or behind_proxy:
        return None
    return settings.effective_tls_port

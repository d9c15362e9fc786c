"""The web console: server-rendered pages over the same services as the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from wharf.console.errors import install_error_pages
from wharf.console.pages import PAGES
from wharf.console.render import STATIC_PREFIX

STATIC = Path(__file__).parent / "static"


def install_console(app: FastAPI) -> None:
    """Serve the console at ``/`` and its static files (the vendored htmx among them)
    under ``/console/static``. Call after the API's problem handlers are installed."""
    install_error_pages(app)
    for router in PAGES:
        app.include_router(router)
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC), name="console-static")

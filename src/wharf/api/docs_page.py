"""The API docs page (Swagger UI), served with its assets from the package: it works offline."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_UI_VERSION = "5.35.0"
"""The vendored copy in ``static/swagger-ui`` (from the npm package ``swagger-ui-dist``)."""
ASSETS = Path(__file__).parent / "static" / "swagger-ui"


def install_docs_page(app: FastAPI, prefix: str) -> None:
    """Serve Swagger UI at ``{prefix}/docs`` and its files under ``{prefix}/docs/static``."""
    static = f"{prefix}/docs/static"
    app.mount(static, StaticFiles(directory=ASSETS), name="docs-static")

    @app.get(f"{prefix}/docs", include_in_schema=False)
    def docs_page() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{prefix}/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{static}/swagger-ui-bundle.js?v={SWAGGER_UI_VERSION}",
            swagger_css_url=f"{static}/swagger-ui.css?v={SWAGGER_UI_VERSION}",
            swagger_favicon_url=f"{static}/favicon-32x32.png",
            # No validator badge: it is an image fetched from validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )

"""Errors on console routes are pages, not problem+json.

Console routers use :class:`ConsoleRoute`; the API's handlers stay as they are for every
other route. A page that needs a signed-in user sends the browser to ``/login?next=...``
(an htmx request gets an ``HX-Redirect`` instead, so the whole page moves).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from wharf.console.context import SignInRequired
from wharf.console.render import render
from wharf.errors import ServiceError

Handler = Callable[[Request, Any], Response | Awaitable[Response]]


class ConsoleRoute(APIRoute):
    """A console route: its errors are rendered as pages."""


def is_console_request(request: Request) -> bool:
    route = request.scope.get("route")
    if route is not None:
        return isinstance(route, ConsoleRoute)
    path = request.url.path
    return path == "/" or path.startswith("/w/")


def sign_in_redirect(request: Request, next_url: str) -> Response:
    target = "/login?" + urlencode({"next": next_url}) if next_url != "/" else "/login"
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def install_error_pages(app: FastAPI) -> None:
    """Render errors of console routes as pages; leave the API's answers to the API."""

    async def on_sign_in_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return sign_in_redirect(request, exc.next_url)

    app.add_exception_handler(SignInRequired, on_sign_in_required)
    for kind in (ServiceError, RequestValidationError, HTTPException):
        app.add_exception_handler(kind, _page_or(app.exception_handlers[kind]))
    app.add_exception_handler(Exception, _logged_page_or(app.exception_handlers[Exception]))


def _page_or(api_handler: Handler) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        if not is_console_request(request):
            answer = api_handler(request, exc)
            return answer if isinstance(answer, Response) else await answer
        status, title, detail = _describe(exc)
        return render(None, "error.html", status=status, title=title, detail=detail)

    return handle


def _logged_page_or(api_handler: Handler) -> Callable[[Request, Exception], Awaitable[Response]]:
    """An unexpected error: the API's handler logs it; a console route gets a page."""

    async def handle(request: Request, exc: Exception) -> Response:
        answer = api_handler(request, exc)
        answer = answer if isinstance(answer, Response) else await answer
        if not is_console_request(request):
            return answer
        detail = "The server failed to show this page; the server log has the details."
        return render(None, "error.html", status=500, title="Server error", detail=detail)

    return handle


def _describe(exc: Exception) -> tuple[int, str, str]:
    if isinstance(exc, ServiceError):
        return exc.status, exc.title, exc.detail
    if isinstance(exc, RequestValidationError):
        fields = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'not valid')}"
            for e in exc.errors()
        )
        return 422, "Invalid request", fields or "the request is not valid"
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404:
        return 404, "Not found", "There is no such page."
    return exc.status_code, "Error", detail

"""Sign in (password or pasted token) and sign out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from wharf.api.deps import PlatformDep
from wharf.console.context import ConsoleContext, action
from wharf.console.errors import ConsoleRoute
from wharf.console.render import render
from wharf.console.sessions import (
    clear_session_cookie,
    login_csrf_matches,
    login_csrf_token,
    session_cookie,
    set_login_csrf_cookie,
    set_session_cookie,
)
from wharf.errors import Forbidden, ServiceError
from wharf.services import console_sessions

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

FormText = Annotated[str, Form(max_length=4096)]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this server, never another site."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    return _login_form(request, next_url=safe_next(next))


@router.post("/login")
def sign_in(
    request: Request,
    platform: PlatformDep,
    csrf_token: FormText = "",
    username: FormText = "",
    password: FormText = "",
    token: FormText = "",
    next: FormText = "/",
) -> Response:
    next_url = safe_next(next)
    if not login_csrf_matches(request, csrf_token):
        error = Forbidden("the sign-in form has expired: send it again", code="csrf")
        return _login_form(request, next_url=next_url, username=username, failure=error)
    client = request.client.host if request.client else "unknown"
    try:
        if token.strip():
            cookie = console_sessions.sign_in_with_token(platform, token)
        else:
            cookie = console_sessions.sign_in_with_password(platform, username, password, client)
    except ServiceError as error:
        field = "token" if token.strip() else "password"
        return _login_form(
            request, next_url=next_url, username=username, failure=error, field=field
        )
    response = RedirectResponse(next_url, status_code=303)
    set_session_cookie(request, response, cookie)
    return response


@router.post("/logout")
def sign_out(request: Request, ctx: ConsoleContext = action()) -> Response:
    with ctx.platform.transaction() as session:
        console_sessions.end_session(session, session_cookie(request))
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(request, response)
    return response


def _login_form(
    request: Request,
    *,
    next_url: str,
    username: str = "",
    failure: ServiceError | None = None,
    field: str = "password",
) -> Response:
    token = login_csrf_token(request)
    errors = {} if failure is None else {field: failure.detail}
    response = render(
        None,
        "auth/login.html",
        status=200 if failure is None else failure.status,
        login_csrf=token,
        next_url=next_url,
        username=username,
        errors=errors,
    )
    set_login_csrf_cookie(request, response, token)
    return response

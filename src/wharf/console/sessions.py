"""The console's cookies: the session (``wharf_session``) and the sign-in form's CSRF pair.

The session cookie is HttpOnly (scripts never read it), SameSite=Lax (other sites' forms
never carry it), Secure when the console is served over TLS, and holds only a random
secret: the store has its digest (``services/console_sessions.py``).
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "wharf_session"
LOGIN_CSRF_COOKIE = "wharf_login_csrf"
"""Before there is a session, the sign-in form is protected by a double-submit token: the
form's hidden field must equal this cookie, which another site can neither read nor set."""


def is_secure(request: Request) -> bool:
    """Whether the browser reached the console over TLS (directly, or through the https
    ``public_url`` of a proxy)."""
    public_url = request.app.state.settings.public_url or ""
    return request.url.scheme == "https" or public_url.startswith("https://")


def session_cookie(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)


def set_session_cookie(request: Request, response: Response, value: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=settings.console_session_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_secure(request)
    )


def login_csrf_token(request: Request) -> str:
    """The sign-in form's token: the one its cookie already holds, or a new one."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)


def set_login_csrf_cookie(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        value,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=is_secure(request),
    )


def login_csrf_matches(request: Request, sent: str | None) -> bool:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    return bool(expected and sent and secrets.compare_digest(expected, sent))

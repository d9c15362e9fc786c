"""Who is looking at a console page, in which workspace, and what they may do there.

Pages depend on :func:`page` (GET) and :func:`action` (POST): both resume the session from
its cookie (not signed in: to ``/login?next=...``) and check one permission with the same
service the API uses. :func:`action` first checks the form's CSRF token (the ``csrf_token``
field or the ``X-CSRF-Token`` header), so a forged POST is refused before the permission
is even asked; hiding a button is a courtesy, the check is the rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from wharf.api.deps import PlatformDep
from wharf.api.request_platform import RequestPlatform
from wharf.console.sessions import session_cookie
from wharf.errors import Unauthenticated
from wharf.services import apps, auth, console_sessions, permissions, workspaces
from wharf.services.auth import Principal
from wharf.services.platform import Platform
from wharf.store.models import App, Workspace

AUTHENTICATED = "authenticated"
"""The permission of pages every signed-in user may see (their tokens, sign-out)."""


class SignInRequired(Exception):
    """The page needs a signed-in user; the browser goes to the sign-in page and back."""

    def __init__(self, next_url: str, reason: str) -> None:
        super().__init__(reason)
        self.next_url = next_url
        self.reason = reason


@dataclass
class ConsoleContext:
    """What every page and template knows about the request."""

    request: Request
    platform: Platform
    principal: Principal
    csrf_token: str
    workspace: str | None
    """The workspace of the page (``/w/{ws}/...``), else the one last looked at."""
    workspaces: list[str]
    """The workspaces the user can see (the switcher's choices)."""
    granted: set[str] = field(default_factory=set)
    """The user's permissions in ``workspace``."""

    @property
    def user_name(self) -> str:
        return self.principal.user_name

    def can(self, permission: str) -> bool:
        """Whether to offer an action; the action's route checks again."""
        if permission in permissions.PLATFORM_PERMISSIONS:
            return self.principal.is_admin
        return permission in self.granted

    def read_workspace(self, session: Session) -> Workspace:
        """The page's workspace, in ``session``."""
        return workspaces.read_workspace(session, self.workspace or "")

    def read_app(self, session: Session, name: str) -> App:
        """An app of the page's workspace, in ``session`` (NotFound: a 404 page)."""
        return apps.read_app(session, self.read_workspace(session), name)

    def ws_url(self, *parts: str | int) -> str:
        """A URL in the current workspace: ``ws_url("apps", "web")`` → ``/w/default/apps/web``."""
        path = "/".join(quote(str(part), safe="") for part in parts)
        return f"/w/{quote(self.workspace or 'default', safe='')}/{path}"

    def api_url(self, *parts: str | int) -> str:
        """The JSON twin of a workspace page: ``/api/v1/workspaces/{ws}/...``."""
        path = "/".join(quote(str(part), safe="") for part in parts)
        return f"/api/v1/workspaces/{quote(self.workspace or 'default', safe='')}/{path}"


def page(permission: str = AUTHENTICATED) -> Any:
    """A dependency for a GET page that needs ``permission`` (in the page's ``{ws}``)."""

    def dependency(request: Request, platform: PlatformDep) -> ConsoleContext:
        return build_context(request, platform, permission)

    return Depends(dependency)


def action(permission: str = AUTHENTICATED) -> Any:
    """A dependency for a POST: the CSRF token must be this session's, then the permission
    is checked (403 either way)."""

    async def dependency(request: Request, platform: PlatformDep) -> ConsoleContext:
        sent = request.headers.get("X-CSRF-Token")
        if sent is None and _is_form(request):
            value = (await request.form()).get("csrf_token")
            sent = value if isinstance(value, str) else None
        return await run_in_threadpool(build_context, request, platform, permission, sent or "")

    return Depends(dependency)


def build_context(
    request: Request, platform: Platform, permission: str, csrf_sent: str | None = None
) -> ConsoleContext:
    """Resume the session, check the CSRF token (when ``csrf_sent`` is given) and the
    permission, and gather what the page shows about the user."""
    session = _request_session(platform)
    try:
        signed_in = console_sessions.resume_session(
            session, platform.settings, session_cookie(request)
        )
    except Unauthenticated as exc:
        raise SignInRequired(_next_url(request), exc.detail) from exc
    if csrf_sent is not None:
        console_sessions.check_csrf_token(signed_in, csrf_sent)
    principal = signed_in.principal
    visible = [w.name for w in workspaces.list_workspaces(session, principal)]
    ws = request.path_params.get("ws")
    granted: set[str] = set()
    if ws is not None:
        if permission in permissions.WORKSPACE_PERMISSIONS:
            auth.authorize_workspace(session, principal, ws, permission)
        granted = auth.workspace_permissions(session, principal, ws)
        cookie = session_cookie(request)
        if cookie and ws != signed_in.workspace:
            console_sessions.remember_workspace(session, cookie, ws)
    elif permission in permissions.PLATFORM_PERMISSIONS:
        auth.authorize_platform(principal, permission)
    elif permission != AUTHENTICATED:
        raise ValueError(f"{permission} is a workspace permission: the page needs a {{ws}}")
    current = ws or _remembered(signed_in.workspace, visible)
    if ws is None and current is not None:
        granted = auth.workspace_permissions(session, principal, current)
    return ConsoleContext(
        request=request,
        platform=platform,
        principal=principal,
        csrf_token=signed_in.csrf_token,
        workspace=current,
        workspaces=visible,
        granted=granted,
    )


def _remembered(workspace: str | None, visible: list[str]) -> str | None:
    if workspace in visible:
        return workspace
    if "default" in visible:
        return "default"
    return visible[0] if visible else None


def _request_session(platform: Platform) -> Session:
    if isinstance(platform, RequestPlatform):
        return platform.begin_request()
    raise TypeError("a request's platform comes from get_platform")


def _next_url(request: Request) -> str:
    if request.method != "GET":  # a form's page is not its action's URL
        return "/"
    query = f"?{request.url.query}" if request.url.query else ""
    return request.url.path + query


def _is_form(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))

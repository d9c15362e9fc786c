"""Request dependencies: the platform, the authenticated caller, and permission checks.

Every route except health and webhooks depends on :func:`require`, which authenticates the
bearer token and checks one permission before the route body (or its validation) runs. The
platform a route gets is a :class:`RequestPlatform`: authentication, the check and the route
share one session and one transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from wharf.api.request_platform import RequestPlatform
from wharf.errors import Unauthenticated
from wharf.services import auth, permissions, tokens
from wharf.services.auth import Principal
from wharf.services.platform import Platform

_bearer = HTTPBearer(auto_error=False, description="a Wharf API token: `wharf token create`")


async def get_platform(request: Request) -> AsyncIterator[Platform]:
    """The platform for this request (one per request: FastAPI caches dependencies). Set up
    on the event loop (no I/O); what the request left open is committed in a worker thread."""
    shared: Platform = request.app.state.platform
    platform = RequestPlatform.for_request(shared)
    failed = True
    try:
        yield platform
        failed = False
    finally:
        if platform.has_session:
            await run_in_threadpool(platform.end_request, failed=failed)
        else:
            platform.end_request(failed=failed)


PlatformDep = Annotated[Platform, Depends(get_platform)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def authenticate(platform: Platform, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """The caller behind the ``Authorization: Bearer`` header, read in the request's
    transaction (the route's first block commits it)."""
    if credentials is None or not credentials.credentials:
        raise Unauthenticated("this route needs a token: send 'Authorization: Bearer <token>'")
    return tokens.authenticate(_request_session(platform), credentials.credentials)


def _request_session(platform: Platform) -> Session:
    if isinstance(platform, RequestPlatform):
        return platform.begin_request()
    raise TypeError("a request's platform comes from get_platform")


@dataclass(frozen=True)
class Access:
    """A caller allowed to do something; ``workspace`` is set for workspace permissions."""

    principal: Principal
    workspace: str | None = None


WorkspaceName = Annotated[str, Path(description="workspace name")]


def require(permission: str) -> Any:
    """A dependency that admits only callers holding ``permission``. Authentication and the
    check are one dependency: one worker-thread hop and the request's one transaction."""
    check: Callable[..., Access]
    if permission in permissions.WORKSPACE_PERMISSIONS:

        def check(ws: WorkspaceName, credentials: BearerDep, platform: PlatformDep) -> Access:
            principal = authenticate(platform, credentials)
            auth.authorize_workspace(_request_session(platform), principal, ws, permission)
            return Access(principal, ws)

    elif permission in permissions.PLATFORM_PERMISSIONS:

        def check(credentials: BearerDep, platform: PlatformDep) -> Access:
            principal = authenticate(platform, credentials)
            auth.authorize_platform(principal, permission)
            return Access(principal)

    elif permission == "authenticated":

        def check(credentials: BearerDep, platform: PlatformDep) -> Access:
            return Access(authenticate(platform, credentials))

    else:
        raise ValueError(f"unknown permission {permission!r}")
    return Depends(check)

"""Request dependencies: the platform, the authenticated caller, and permission checks.

Every route except health and webhooks depends on :func:`require`, which authenticates the
bearer token and checks one permission before the route body (or its validation) runs. The
platform a route gets is a :class:`RequestPlatform`: authentication, the check and the route
share one session and one transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
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
        if platform.in_transaction:
            await run_in_threadpool(platform.end_request, failed=failed)
        else:
            platform.end_request(failed=failed)


def server_platform(request: Request) -> Platform:
    """The server's own platform, for a route that needs no request transaction (health)."""
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise Unauthenticated("this route needs a token: send 'Authorization: Bearer <token>'")
    return credentials.credentials


def authenticate(platform: Platform, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """The caller behind the ``Authorization: Bearer`` header, read in the request's
    transaction (the route's first block commits it) and remembered in the server's cache."""
    plaintext = _bearer_token(credentials)
    return tokens.authenticate(_request_session(platform), plaintext, platform.auth_cache)


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
    check are one dependency. A token and a role the server checked within the last
    ``auth_cache_seconds`` are decided on the event loop, without the store; otherwise both
    are read in one worker-thread hop, in the request's one transaction."""
    check: Callable[..., Awaitable[Access]]
    if permission in permissions.WORKSPACE_PERMISSIONS:

        async def check(ws: WorkspaceName, credentials: BearerDep, platform: PlatformDep) -> Access:
            cache = platform.auth_cache
            principal = tokens.remembered_caller(cache, _bearer_token(credentials))
            if principal is not None and auth.authorize_remembered(
                cache, principal, ws, permission
            ):
                return Access(principal, ws)

            def read() -> Access:
                caller = authenticate(platform, credentials)
                session = _request_session(platform)
                auth.authorize_workspace(session, caller, ws, permission, cache)
                return Access(caller, ws)

            return await run_in_threadpool(read)

    elif permission in permissions.PLATFORM_PERMISSIONS:

        async def check(credentials: BearerDep, platform: PlatformDep) -> Access:
            principal = await _caller(platform, credentials)
            auth.authorize_platform(principal, permission)
            return Access(principal)

    elif permission == "authenticated":

        async def check(credentials: BearerDep, platform: PlatformDep) -> Access:
            return Access(await _caller(platform, credentials))

    else:
        raise ValueError(f"unknown permission {permission!r}")
    return Depends(check)


async def _caller(
    platform: Platform, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    """The caller, from the cache when it can tell, else from the store in a worker thread."""
    principal = tokens.remembered_caller(platform.auth_cache, _bearer_token(credentials))
    if principal is not None:
        return principal
    return await run_in_threadpool(authenticate, platform, credentials)

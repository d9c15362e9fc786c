"""Request dependencies: the platform, the authenticated caller, and permission checks.

Every route except health and webhooks depends on :func:`require`, which authenticates the
bearer token and checks one permission before the route body (or its validation) runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from wharf.errors import Unauthenticated
from wharf.services import auth, permissions, tokens
from wharf.services.platform import Platform

_bearer = HTTPBearer(auto_error=False, description="a Wharf API token: `wharf token create`")


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def get_principal(
    platform: PlatformDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> auth.Principal:
    """The caller behind the ``Authorization: Bearer`` header."""
    if credentials is None or not credentials.credentials:
        raise Unauthenticated("this route needs a token: send 'Authorization: Bearer <token>'")
    with platform.transaction() as session:
        return tokens.authenticate(session, credentials.credentials)


PrincipalDep = Annotated[auth.Principal, Depends(get_principal)]


@dataclass(frozen=True)
class Access:
    """A caller allowed to do something; ``workspace`` is set for workspace permissions."""

    principal: auth.Principal
    workspace: str | None = None


WorkspaceName = Annotated[str, Path(description="workspace name")]


def require(permission: str) -> Any:
    """A dependency that admits only callers holding ``permission``."""
    check: Callable[..., Access]
    if permission in permissions.WORKSPACE_PERMISSIONS:

        def check(ws: WorkspaceName, principal: PrincipalDep, platform: PlatformDep) -> Access:
            with platform.transaction() as session:
                auth.authorize_workspace(session, principal, ws, permission)
            return Access(principal, ws)

    elif permission in permissions.PLATFORM_PERMISSIONS:

        def check(principal: PrincipalDep) -> Access:
            auth.authorize_platform(principal, permission)
            return Access(principal)

    elif permission == "authenticated":

        def check(principal: PrincipalDep) -> Access:
            return Access(principal)

    else:
        raise ValueError(f"unknown permission {permission!r}")
    return Depends(check)

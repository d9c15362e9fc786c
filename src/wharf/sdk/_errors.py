"""The SDK's exceptions. Every error a call can raise is one of these.

WharfError
 ├── ConfigError              no server configured, or an unreadable config file
 ├── ServerUnavailableError   the server cannot be reached
 └── APIError                 the server answered with a problem (status, code, detail)
      ├── InvalidRequestError     400, 422
      ├── AuthenticationError     401
      ├── PermissionDeniedError   403
      ├── NotFoundError           404
      └── ConflictError           409
"""

from __future__ import annotations

from typing import Any


class WharfError(Exception):
    """Base class of every SDK error."""


class ConfigError(WharfError):
    """The client has no server URL or token, or the config file cannot be read."""


class ServerUnavailableError(WharfError):
    """The server could not be reached (refused, timed out, name not resolved)."""


class APIError(WharfError):
    """The server answered with an error; ``detail`` says what was wrong in plain words."""

    def __init__(
        self, status: int, code: str, detail: str, problem: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.problem = problem or {}


class InvalidRequestError(APIError):
    """400 or 422: the request broke a rule; ``problem['errors']`` names the fields."""


class AuthenticationError(APIError):
    """401: no token, or a token that is unknown, expired or revoked."""


class PermissionDeniedError(APIError):
    """403: the token's user lacks the permission."""


class NotFoundError(APIError):
    """404: the named resource does not exist."""


class ConflictError(APIError):
    """409: it exists already, or is in a state that does not allow this."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: InvalidRequestError,
}


def error_from_problem(status: int, problem: dict[str, Any] | None, fallback: str) -> APIError:
    """The exception for an error response."""
    problem = problem or {}
    detail = str(problem.get("detail") or fallback or f"HTTP {status}")
    code = str(problem.get("code") or "error")
    return _BY_STATUS.get(status, APIError)(status, code, detail, problem)

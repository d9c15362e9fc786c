"""The one error vocabulary of Wharf's domain core.

Every rule that a caller can break raises one of these. Interfaces map them once:
the REST API to ``application/problem+json`` with a stable ``code``, the CLI to one
plain red line and a non-zero exit code. Nothing else should reach a user.

    ServiceError
     ├── Invalid          422  the request is malformed or breaks a rule   (code: invalid)
     ├── Unauthenticated  401  no token, or a bad, expired or revoked one  (code: unauthenticated)
     ├── Forbidden        403  the caller lacks a permission               (code: forbidden)
     ├── NotFound         404  the named resource does not exist           (code: not-found)
     ├── Conflict         409  the resource exists or is in the wrong state (code: conflict)
     ├── TooManyAttempts  429  too many wrong passwords; wait ``retry_after`` s (too-many-requests)
     ├── Unavailable      503  too busy now; try again after ``retry_after`` s (code: unavailable)
     └── TimedOut         504  a service Wharf called did not answer in time (code: timed-out)
"""

from __future__ import annotations

from typing import Any, ClassVar


class ServiceError(Exception):
    """Base class: a message for people, a stable machine code, and optional details."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.extra = extra


class Invalid(ServiceError):
    """The input is well-formed JSON but breaks a rule (a bad name, an unknown permission...)."""

    status = 422
    default_code = "invalid"
    title = "Invalid request"


class BadRequest(ServiceError):
    """The request cannot be understood at all (a body that is not what was expected)."""

    status = 400
    default_code = "bad-request"
    title = "Bad request"


class Unauthenticated(ServiceError):
    """No credentials, or credentials that are unknown, expired or revoked."""

    status = 401
    default_code = "unauthenticated"
    title = "Authentication required"


class Forbidden(ServiceError):
    """The caller is known but lacks the permission the action needs."""

    status = 403
    default_code = "forbidden"
    title = "Permission denied"


class NotFound(ServiceError):
    """The named resource does not exist (or the caller may not know that it does)."""

    status = 404
    default_code = "not-found"
    title = "Not found"


class Conflict(ServiceError):
    """The resource already exists, or is in a state that does not allow the action."""

    status = 409
    default_code = "conflict"
    title = "Conflict"


class TooManyAttempts(ServiceError):
    """Too many failed attempts (wrong passwords) in a row; wait ``retry_after`` seconds."""

    status = 429
    default_code = "too-many-requests"
    title = "Too many attempts"

    def __init__(self, detail: str, *, retry_after: int, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after


class Unavailable(ServiceError):
    """Wharf is too busy to take this now; the caller should retry after ``retry_after`` s."""

    status = 503
    default_code = "unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str, *, retry_after: int = 5, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after


class TimedOut(ServiceError):
    """A service Wharf called for the caller (a storage service) did not answer in time."""

    status = 504
    default_code = "timed-out"
    title = "Gateway timeout"

"""Name rules shared by every resource, so that one message explains them everywhere.

The general length and character limits live in :mod:`wharf.schemas.text` (the API's
schemas show them in the OpenAPI document); the checks here apply them, and the stricter
per-resource rules, to whatever reaches a service.
"""

from __future__ import annotations

import re

from wharf.errors import Invalid
from wharf.schemas.text import MAX_DESCRIPTION, MAX_NAME, MULTI_LINE, ONE_LINE

# Lower-case DNS labels: they appear in host names (routes) and paths.
_DNS_LABEL = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_USER_NAME = re.compile(r"^[a-z][a-z0-9._-]{0,62}$")
_ONE_LINE = re.compile(ONE_LINE)
_MULTI_LINE = re.compile(MULTI_LINE)


def check_dns_label(kind: str, value: str) -> str:
    """Workspaces, apps and roles: 1-63 lower-case letters, digits and dashes, a letter first."""
    if not _DNS_LABEL.fullmatch(value):
        raise Invalid(
            f"{kind} name {value[:100]!r} is not valid: use 1-63 lower-case letters, digits and "
            "dashes, starting with a letter and not ending with a dash",
            field="name",
        )
    return value


def check_user_name(value: str) -> str:
    """User names: 1-63 lower-case letters, digits, dots, dashes and underscores, a letter first."""
    if not _USER_NAME.fullmatch(value):
        raise Invalid(
            f"user name {value[:100]!r} is not valid: use 1-63 lower-case letters, digits, '.', "
            "'-' or '_', starting with a letter",
            field="name",
        )
    return value


def check_name_text(field: str, value: str) -> str:
    """Any name (``field`` says which): 1-255 characters, no control characters."""
    if not 0 < len(value) <= MAX_NAME or not _ONE_LINE.fullmatch(value):
        raise Invalid(
            f"{field} must have 1-{MAX_NAME} characters and no control characters "
            "(no NUL, newline or tab)",
            field=field,
        )
    return value


def check_description(value: str, field: str = "description") -> str:
    """Descriptions: up to 4 KiB; newlines and tabs allowed, no other control characters."""
    if len(value) > MAX_DESCRIPTION or not _MULTI_LINE.fullmatch(value):
        raise Invalid(
            f"{field} must have at most {MAX_DESCRIPTION} characters and no control characters "
            "other than newlines and tabs",
            field=field,
        )
    return value

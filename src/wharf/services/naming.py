"""Name rules shared by every resource, so that one message explains them everywhere."""

from __future__ import annotations

import re

from wharf.errors import Invalid

# Lower-case DNS labels: they appear in host names (routes) and paths.
_DNS_LABEL = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_USER_NAME = re.compile(r"^[a-z][a-z0-9._-]{0,62}$")


def check_dns_label(kind: str, value: str) -> str:
    """Workspaces, apps and roles: 1-63 lower-case letters, digits and dashes, a letter first."""
    if not _DNS_LABEL.match(value):
        raise Invalid(
            f"{kind} name {value!r} is not valid: use 1-63 lower-case letters, digits and dashes, "
            "starting with a letter and not ending with a dash",
            field="name",
        )
    return value


def check_user_name(value: str) -> str:
    """User names: 1-63 lower-case letters, digits, dots, dashes and underscores, a letter first."""
    if not _USER_NAME.match(value):
        raise Invalid(
            f"user name {value!r} is not valid: use 1-63 lower-case letters, digits, '.', '-' "
            "or '_', starting with a letter",
            field="name",
        )
    return value

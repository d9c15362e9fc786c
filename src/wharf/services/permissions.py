"""Permissions and the built-in roles.

A permission is a string ``<resource>/<action>`` (``apps/write``, ``batch-endpoints/jobs/write``).
A role is a named set of permission patterns; in a pattern ``*`` matches any run of characters,
so ``apps/*`` grants every apps permission and ``*/read`` every read permission.
Platform admins hold every permission in every workspace.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from wharf.errors import Invalid

#: Every workspace permission Wharf checks, with what it allows.
WORKSPACE_PERMISSIONS: dict[str, str] = {
    "workspaces/read": "see the workspace",
    "workspaces/write": "change the workspace's description",
    "members/read": "list members and their roles",
    "members/write": "add and remove members, assign roles",
    "roles/read": "list roles and their permissions",
    "roles/write": "create and delete custom roles",
    "apps/read": "see apps, their replicas, routes and logs",
    "apps/write": "create, change, roll back and delete apps",
    "builds/read": "see builds and their logs",
    "builds/write": "start and cancel builds",
    "source-secrets/read": "list git source secrets (never their values)",
    "source-secrets/write": "create and delete git source secrets",
    "datastores/read": "see datastores and read data through them",
    "datastores/write": "create datastores and write data through them",
    "data/read": "see and read data assets",
    "data/write": "create and archive data assets",
    "models/read": "see and read models",
    "models/write": "create and archive models",
    "batch-endpoints/read": "see batch endpoints and deployments",
    "batch-endpoints/write": "create, change and delete batch endpoints and deployments",
    "batch-endpoints/jobs/write": "invoke batch endpoints (create jobs)",
    "jobs/read": "see jobs, their logs and outputs",
    "jobs/write": "cancel jobs",
    "workbenches/read": "see your own notebook workbenches",
    "workbenches/write": "create, start, stop and delete your own notebook workbenches",
}

#: Platform-wide permissions; only platform admins hold them.
PLATFORM_PERMISSIONS: dict[str, str] = {
    "users/read": "list users",
    "users/write": "create users",
    "workspaces/create": "create workspaces",
    "tokens/write": "create and revoke tokens of other users",
}

_ALL_READ = "*/read"

#: The built-in roles, from most to least powerful.
BUILTIN_ROLES: dict[str, tuple[str, list[str]]] = {
    "owner": ("everything in the workspace, including members and roles", ["*"]),
    "contributor": (
        "everything in the workspace except managing members and roles",
        [p for p in WORKSPACE_PERMISSIONS if p not in ("members/write", "roles/write")],
    ),
    "data-scientist": (
        "read everything; manage data, models, batch endpoints and jobs",
        [
            _ALL_READ,
            "data/write",
            "models/write",
            "datastores/write",
            "batch-endpoints/write",
            "batch-endpoints/jobs/write",
            "jobs/write",
            "workbenches/write",
        ],
    ),
    "reader": ("read everything, change nothing", [_ALL_READ]),
}


def grants(patterns: Iterable[str], permission: str) -> bool:
    """Whether a role with these permission patterns holds ``permission``."""
    return any(fnmatchcase(permission, pattern) for pattern in patterns)


def check_permission_patterns(patterns: Iterable[str]) -> list[str]:
    """Validate a custom role's patterns: each must grant at least one workspace permission."""
    checked: list[str] = []
    for pattern in patterns:
        pattern = pattern.strip()
        if not pattern or not any(fnmatchcase(p, pattern) for p in WORKSPACE_PERMISSIONS):
            known = ", ".join(WORKSPACE_PERMISSIONS)
            raise Invalid(
                f"permission {pattern!r} matches no permission; known permissions: {known}",
                field="permissions",
            )
        if pattern not in checked:
            checked.append(pattern)
    if not checked:
        raise Invalid("a role needs at least one permission", field="permissions")
    return checked


def expand(patterns: Iterable[str]) -> list[str]:
    """The workspace permissions a set of patterns grants, in catalogue order."""
    patterns = list(patterns)
    return [p for p in WORKSPACE_PERMISSIONS if grants(patterns, p)]

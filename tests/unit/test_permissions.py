"""Permission patterns and the built-in roles."""

from __future__ import annotations

import pytest

from wharf.errors import Invalid
from wharf.services.permissions import (
    BUILTIN_ROLES,
    WORKSPACE_PERMISSIONS,
    check_permission_patterns,
    expand,
    grants,
)


def role(name: str) -> list[str]:
    return BUILTIN_ROLES[name][1]


def test_owner_holds_everything() -> None:
    assert expand(role("owner")) == list(WORKSPACE_PERMISSIONS)


def test_contributor_cannot_manage_access() -> None:
    held = expand(role("contributor"))
    assert "members/write" not in held
    assert "roles/write" not in held
    assert {"apps/write", "builds/write", "batch-endpoints/jobs/write"} <= set(held)


def test_data_scientist_invokes_but_does_not_deploy_apps() -> None:
    held = set(expand(role("data-scientist")))
    assert {"batch-endpoints/jobs/write", "data/write", "jobs/write", "datastores/write"} <= held
    assert "apps/write" not in held
    assert "members/write" not in held


def test_reader_holds_only_reads() -> None:
    held = expand(role("reader"))
    assert held == [p for p in WORKSPACE_PERMISSIONS if p.endswith("/read")]


@pytest.mark.parametrize(
    ("patterns", "permission", "expected"),
    [
        (["apps/*"], "apps/write", True),
        (["apps/*"], "builds/write", False),
        (["batch-endpoints/*"], "batch-endpoints/jobs/write", True),
        (["*/read"], "members/read", True),
        (["*/read"], "members/write", False),
        (["data/read"], "data/read", True),
    ],
)
def test_patterns_match_as_documented(patterns: list[str], permission: str, expected: bool) -> None:
    assert grants(patterns, permission) is expected


def test_custom_patterns_are_checked_and_deduplicated() -> None:
    assert check_permission_patterns(["apps/*", " apps/* ", "data/read"]) == ["apps/*", "data/read"]
    with pytest.raises(Invalid, match="'apps/fly' matches no permission"):
        check_permission_patterns(["apps/fly"])
    with pytest.raises(Invalid, match="at least one permission"):
        check_permission_patterns([])

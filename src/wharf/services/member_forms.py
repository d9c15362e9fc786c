"""The console's Members page forms read into what :mod:`~wharf.services.members` and
:mod:`~wharf.services.roles` take, as the API's schemas read the JSON bodies.

Form fields: a grant, ``user`` and ``role`` (a change of role: ``role`` alone, the member is
the page's); a custom role, ``name``, ``description`` and ``permissions``, the boxes checked,
comma-separated (:func:`join_permissions`). Text is trimmed; the services check the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RoleGrant:
    """A user to give a role in the workspace."""

    user: str
    role: str


@dataclass(frozen=True)
class RoleDraft:
    """A custom role to create."""

    name: str
    permissions: list[str]
    description: str


def join_permissions(checked: Iterable[str]) -> str:
    """The checked permission boxes as the one ``permissions`` field."""
    return ",".join(checked)


def read_grant_form(form: Mapping[str, str], user: str | None = None) -> RoleGrant:
    """The grant the form asks for: to ``user``, or else to the one the form names."""
    return RoleGrant(
        user=form.get("user", "").strip() if user is None else user, role=form.get("role", "")
    )


def read_role_form(form: Mapping[str, str]) -> RoleDraft:
    """The custom role the form describes."""
    return RoleDraft(
        name=form.get("name", "").strip(),
        permissions=[p for p in form.get("permissions", "").split(",") if p],
        description=form.get("description", "").strip(),
    )

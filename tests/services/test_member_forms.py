"""The Members page forms read into a grant and a custom role: text trimmed, the checked
permission boxes kept in order."""

from __future__ import annotations

from wharf.services import member_forms


def test_a_grant_names_the_forms_user_or_the_pages_member() -> None:
    form = {"user": " bob ", "role": "reader"}
    assert member_forms.read_grant_form(form) == member_forms.RoleGrant("bob", "reader")
    assert member_forms.read_grant_form({"role": "owner"}, "olga").user == "olga"


def test_a_role_keeps_the_permissions_checked() -> None:
    checked = member_forms.join_permissions(["apps/read", "jobs/write"])
    form = {"name": " viewer ", "permissions": checked, "description": " looks "}
    draft = member_forms.read_role_form(form)
    assert draft == member_forms.RoleDraft("viewer", ["apps/read", "jobs/write"], "looks")
    assert member_forms.read_role_form({"name": "none"}).permissions == []

"""The Import from Git form read into the app to create: text trimmed, blanks as defaults,
and a wrong field named in the error."""

from __future__ import annotations

import pytest

from wharf.errors import Invalid
from wharf.services import import_form


def _values(**given: str) -> dict[str, str]:
    values = dict.fromkeys(import_form.TEXT_FIELDS, "")
    values.update(given)
    return values


def test_the_form_reads_into_an_app_spec_with_its_route() -> None:
    spec = import_form.read_import_form(
        _values(
            git=" https://example.com/team/heart.git ",
            replicas="3",
            env="A=1\n# a comment\nB=two=2\n",
            labels="team=risk, tier=web",
            hostname="heart.example.com",
            target_port="8080",
        ),
        route=True,
        tls=True,
    )
    assert spec.git_url == "https://example.com/team/heart.git"
    assert spec.name is None
    assert spec.replicas == 3
    assert spec.runtime_env == {"A": "1", "B": "two=2"}
    assert spec.labels == {"team": "risk", "tier": "web"}
    assert (spec.route.enabled, spec.route.hostname) == (True, "heart.example.com")
    assert (spec.route.target_port, spec.route.tls) == (8080, "edge")


def test_blank_numbers_take_their_defaults_and_a_wrong_one_is_named() -> None:
    spec = import_form.read_import_form(_values(git="g"), route=False, tls=False)
    assert (spec.replicas, spec.route.target_port, spec.route.enabled) == (1, None, False)
    with pytest.raises(Invalid, match="target port must be a whole number") as refused:
        import_form.read_import_form(_values(git="g", target_port="80a"), route=True, tls=False)
    assert refused.value.extra == {"field": "target_port"}


def test_a_new_secret_is_chosen_by_its_name() -> None:
    values = _values(
        source_secret=import_form.NEW_SECRET, new_secret_name=" deploy ", new_secret_username="me"
    )
    assert import_form.wants_new_secret(values)
    assert import_form.read_import_form(values, route=True, tls=False).source_secret == "deploy"
    secret = import_form.read_new_secret(values, "s3cret")
    assert (secret.name, secret.username, secret.password) == ("deploy", "me", "s3cret")
    picked = _values(source_secret="existing")
    assert not import_form.wants_new_secret(picked)
    assert import_form.read_secret_choice(picked) == "existing"

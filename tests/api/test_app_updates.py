"""Changing an app after create through the API and SDK: merge-patch semantics, validation
before anything is stored, the event list, groups and label selectors, permissions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Server
from tests.gitrepos import make_repo
from wharf.sdk import Client, InvalidRequestError, NotFoundError, PermissionDeniedError


@pytest.fixture
def model(server: Server, admin: Client, tmp_path: Path) -> Path:
    """App ``model`` whose Build #1 is cancelled (nothing serves: updates store settings)."""
    server.platform.build_runner.stop()
    repo = tmp_path / "model"
    make_repo(repo, {"requirements.txt": "\n", "app.py": "print('hi')\n"})
    admin.apps.create(
        repo.as_uri(),
        name="model",
        env={"MODE": "a", "KEEP": "1"},
        labels={"team": "risk"},
        group="scoring",
    )
    admin.builds.cancel("model", 1)
    return repo


def test_a_merge_patch_changes_only_what_it_names_and_null_removes(
    server: Server, admin: Client, model: Path
) -> None:
    answer = server.http.patch(
        "/api/v1/workspaces/default/apps/model",
        content=json.dumps(
            {"env": {"MODE": "b", "KEEP": None, "NEW": "x"}, "memory": "256Mi", "replicas": 2}
        ),
        headers={
            "Authorization": f"Bearer {server.admin_token}",
            "Content-Type": "application/merge-patch+json",
        },
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["app"]["env"] == {"MODE": "b", "NEW": "x"}
    assert result["app"]["memory"] == "256Mi"
    assert result["app"]["replicas"] == 2
    assert result["app"]["labels"] == {"team": "risk"}  # untouched
    assert result["rollout"]["action"] == "restart"
    assert {c["field"] for c in result["changes"]} == {
        "env.MODE",
        "env.KEEP",
        "env.NEW",
        "memory",
        "replicas",
    }

    removed = admin.apps.update("model", memory=None, group=None)
    assert removed.app.memory is None
    assert removed.app.group is None


def test_every_change_is_checked_before_anything_is_stored(admin: Client, model: Path) -> None:
    for patch, words in [
        ({"replicas": 3, "memory": "lots"}, "memory"),
        ({"env": {"OK": "1", "1BAD": "x"}}, "1BAD"),
        ({"cpu": "1", "labels": {"team": "has space"}}, "label"),
        ({"ref": "no-such-branch"}, "no-such-branch"),
        ({"source_secret": "missing"}, "missing"),
        ({"route": {"enabled": False, "hostname": "x.example.com"}}, "contradict"),
        ({"route": {"path": "/a/../b"}}, ".."),
        ({"context_dir": "../up"}, "context dir"),
        ({"replicas": 99}, "replicas"),
        ({"group": "Not A Name"}, "group"),
    ]:
        with pytest.raises((InvalidRequestError, NotFoundError)) as caught:
            admin.apps.update("model", **patch)
        assert words in str(caught.value), (patch, str(caught.value))
    app = admin.apps.get("model")
    assert (app.replicas, app.cpu, app.memory, app.env) == (
        1,
        None,
        None,
        {"MODE": "a", "KEEP": "1"},
    )
    assert [e.kind for e in admin.apps.events("model")] == ["Created"]


def test_events_say_who_changed_what_and_source_changes_wait_for_the_next_build(
    server: Server, admin: Client, model: Path
) -> None:
    token = server.user_with_role("carol", "contributor")
    with server.client(token) as carol:
        scaled = carol.apps.scale("model", 3)
        assert scaled.rollout.action == "scale"
        changed = carol.apps.update("model", ref="trunk", build_env={"PIP_INDEX": "x"})
    assert changed.next_build
    assert "next build" in changed.summary
    events = admin.apps.events("model")
    assert [e.kind for e in events] == ["Updated", "Scaled", "Created"]
    assert [e.actor for e in events[:2]] == ["carol", "carol"]
    assert [(c.field, c.old, c.new) for c in events[1].changes] == [("replicas", 1, 3)]
    assert ("build_env.PIP_INDEX", None, "x") in [
        (c.field, c.old, c.new) for c in events[0].changes
    ]

    nothing = admin.apps.update("model", replicas=3)
    assert nothing.changes == []
    assert len(admin.apps.events("model")) == 3


def test_a_reader_cannot_update_or_scale(server: Server, model: Path) -> None:
    token = server.user_with_role("rita", "reader")
    with server.client(token) as rita:
        with pytest.raises(PermissionDeniedError):
            rita.apps.update("model", env={"MODE": "z"})
        with pytest.raises(PermissionDeniedError):
            rita.apps.scale("model", 2)
        assert [e.kind for e in rita.apps.events("model")] == ["Created"]


def test_list_by_group_and_label_selector(admin: Client, model: Path) -> None:
    admin.apps.create(model.as_uri(), name="other", labels={"team": "web", "tier": "front"})
    admin.apps.create(model.as_uri(), name="third", labels={"team": "risk"}, group="scoring")

    def names(**query: str) -> list[str]:
        return [a.name for a in admin.apps.list(**query)]  # type: ignore[arg-type]

    assert names(group="scoring") == ["model", "third"]
    assert names(label_selector="team=risk") == ["model", "third"]
    assert names(label_selector="team!=risk") == ["other"]
    assert names(label_selector="tier") == ["other"]
    assert names(label_selector="!tier,team==risk") == ["model", "third"]
    assert names(group="scoring", label_selector="team=web") == []
    for bad in ("team=risk,", "a b", "=x", "!team=risk"):
        with pytest.raises(InvalidRequestError, match="selector"):
            admin.apps.list(label_selector=bad)


def test_create_refuses_contradictions_and_dot_segments(admin: Client, model: Path) -> None:
    with pytest.raises(InvalidRequestError, match="contradict"):
        admin.apps.create(
            model.as_uri(), name="x", route={"enabled": False, "hostname": "x.example.com"}
        )
    with pytest.raises(InvalidRequestError, match=r"\.\."):
        admin.apps.create(model.as_uri(), name="y", route={"path": "/../x"})
    assert [a.name for a in admin.apps.list()] == ["model"]


def test_route_settings_change_through_a_patch(admin: Client, model: Path) -> None:
    changed = admin.apps.update(
        "model", route={"path": "/churn", "path_mode": "keep", "target_port": 8080}
    )
    route = changed.app.route
    assert (route.path, route.path_mode, route.target_port) == ("/churn", "keep", 8080)
    assert changed.rollout.action == "restart"  # the target port is a runtime setting
    assert route.urls[1].endswith("/churn/")
    off = admin.apps.update("model", route={"enabled": False, "path": None})
    assert off.app.route.urls == []
    with pytest.raises(InvalidRequestError, match="target port"):
        admin.apps.update("model", route={"enabled": True, "target_port": 70000})


def test_a_tls_route_needs_a_server_reached_over_https(
    server: Server, admin: Client, model: Path
) -> None:
    with pytest.raises(InvalidRequestError, match="plain http"):
        admin.apps.update("model", route={"tls": "edge"})
    server.platform.settings.public_url = "https://wharf.example.com"
    changed = admin.apps.update("model", route={"tls": "edge", "insecure_policy": "Redirect"})
    route = changed.app.route
    assert (route.tls, route.insecure_policy) == ("edge", "Redirect")
    assert [url.split("://")[0] for url in route.urls] == ["https", "https"]
    with pytest.raises(InvalidRequestError, match="needs --tls edge"):
        admin.apps.update("model", route={"tls": None, "insecure_policy": "Allow"})
    assert (
        admin.apps.update("model", route={"tls": None, "insecure_policy": None}).app.route.tls
        is None
    )

"""Topology, the side panel and the app page's tabs, rendered with real apps and builds;
what a reader sees and what the server refuses them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import Server
from tests.console.apps import add_build, model_app
from tests.console.browsing import csrf_token, signed_in
from wharf.services import apps, workspaces
from wharf.states import BuildPhase

WRITE_BUTTONS = ("Start build", "Rollback", "Copy URL with Secret", "Rotate the secret", "Rebuild")


@pytest.fixture
def model(server: Server, tmp_path: Path) -> str:
    model_app(server, tmp_path, group="scoring", env={"MODE": "a"})
    add_build(server, "model", BuildPhase.COMPLETE, log="installed\n")
    add_build(server, "model", BuildPhase.FAILED, "the requirements did not install", "boom\n")
    return "model"


def test_topology_shows_each_app_as_a_card(server: Server, model: str, tmp_path: Path) -> None:
    model_app(server, tmp_path, name="other")
    with signed_in(server, "ann", "contributor") as browser:
        page = browser.get("/w/default/topology")
        assert page.status_code == 200
        assert "Build #3 failed" in page.text
        assert "Group: scoring" in page.text
        assert "Open URL" in page.text
        assert "Edit source" not in page.text  # a file:// URL is not a link
        assert 'aria-label="0 of 1 pod ready"' in page.text
        found = browser.get("/w/default/topology?q=oth")
        assert "other" in found.text
        assert "/w/default/topology/panel/model" not in found.text
        listed = browser.get("/w/default/topology?view=list")
        assert "<table>" in listed.text
        assert "Build #3 failed" in listed.text


def test_the_side_panel_waits_for_the_build_and_shows_the_failure(
    server: Server, model: str
) -> None:
    with signed_in(server, "ann", "contributor") as browser:
        panel = browser.get("/w/default/topology/panel/model", headers={"HX-Request": "true"})
    assert panel.status_code == 200
    assert "<html" not in panel.text  # a fragment for #side-panel
    assert "Waiting for the build" in panel.text
    assert "Build #3 failed" in panel.text
    assert re.search(r"Build #2 is complete</a>\s*\(\d+ \w+ ago\)", panel.text)
    assert "the requirements did not install" in panel.text
    assert "boom" in panel.text  # the log snippet
    assert "Start build" in panel.text
    assert 'Location: <a href="http://' in panel.text


def test_a_reader_sees_no_write_buttons(server: Server, model: str) -> None:
    with signed_in(server, "rita", "reader") as browser:
        pages = [
            browser.get("/w/default/topology"),
            browser.get("/w/default/topology/panel/model"),
            browser.get("/w/default/apps/model"),
            browser.get("/w/default/apps/model/builds"),
            browser.get("/w/default/apps/model/builds/2"),
            browser.get("/w/default/apps/model/webhooks"),
            browser.get("/w/default/apps/model/revisions"),
            browser.get("/w/default/apps/model/environment"),
        ]
    for page in pages:
        assert page.status_code == 200, page.url
        for button in WRITE_BUTTONS:
            assert button not in page.text, f"{button} on {page.url}"
        assert "Increase the replicas" not in page.text
    webhooks = pages[5].text
    assert "/hooks/default/model/&lt;secret&gt;/github" in webhooks


def test_a_readers_forged_posts_are_refused(server: Server, model: str) -> None:
    with signed_in(server, "rita", "reader") as browser:
        token = csrf_token(browser.get("/w/default/apps/model").text)
        for path, data in (
            ("/w/default/apps/model/builds", {}),
            ("/w/default/apps/model/rollback", {"to": "2"}),
            ("/w/default/apps/model/scale", {"replicas": "3"}),
            ("/w/default/apps/model/webhooks/rotate", {}),
            ("/w/default/apps/model/environment", {"env": "X=1"}),
            ("/w/default/apps/model/builds/2/rebuild", {}),
            ("/w/default/import", {"git": "file:///nowhere"}),
        ):
            refused = browser.post(path, data={"csrf_token": token, **data})
            assert refused.status_code == 403, path
            assert "does not grant" in refused.text
    with server.platform.transaction() as session:
        found = apps.read_app(session, workspaces.read_workspace(session, "default"), "model")
        assert found.next_build == 4
        assert found.replicas == 1


def test_write_posts_need_the_csrf_token(server: Server, model: str) -> None:
    with signed_in(server, "ann", "owner") as browser:
        assert browser.post("/w/default/apps/model/builds").status_code == 403
        forged = browser.post(
            "/w/default/apps/model/builds", headers={"X-CSRF-Token": "not-this-sessions"}
        )
        assert forged.status_code == 403


def test_start_build_goes_to_the_new_build(server: Server, model: str) -> None:
    with signed_in(server, "ann", "contributor") as browser:
        token = csrf_token(browser.get("/w/default/apps/model").text)
        started = browser.post("/w/default/apps/model/builds", data={"csrf_token": token})
        assert started.status_code == 303
        assert started.headers["location"] == "/w/default/apps/model/builds/4"
        page = browser.get(started.headers["location"])
    assert "Build #4 is pending" in page.text
    assert "Manual build by ann" in page.text
    assert "Cancel build" in page.text


def test_the_builds_tab_filters_by_phase(server: Server, model: str) -> None:
    with signed_in(server, "ann", "contributor") as browser:
        every = browser.get("/w/default/apps/model/builds")
        failed = browser.get("/w/default/apps/model/builds?phase=Failed")
    assert all(f">#{n}</a>" in every.text for n in (1, 2, 3))
    assert ">#3</a>" in failed.text
    assert ">#2</a>" not in failed.text
    assert "1m 15s" in every.text


def test_the_build_page_shows_the_build_and_streams_its_log(server: Server, model: str) -> None:
    with signed_in(server, "ann", "contributor") as browser:
        page = browser.get("/w/default/apps/model/builds/3")
        events = browser.get("/w/default/apps/model/builds/3/log/events")
        raw = browser.get("/w/default/apps/model/builds/3/log")
    assert "Build #3 failed" in page.text
    assert "a" * 40 in page.text
    assert "1m 15s" in page.text
    assert "the requirements did not install" in page.text
    assert 'data-sse-log="/w/default/apps/model/builds/3/log/events"' in page.text
    assert events.headers["content-type"].startswith("text/event-stream")
    assert "event: line\ndata: boom\n\n" in events.text
    assert events.text.endswith(
        "event: end\ndata: Build #3 failed: the requirements did not install\n\n"
    )
    assert raw.text == "boom\n"


def test_the_environment_tab_edits_env_and_shows_errors_by_the_field(
    server: Server, model: str
) -> None:
    with signed_in(server, "ann", "contributor") as browser:
        page = browser.get("/w/default/apps/model/environment")
        assert "MODE=a" in page.text
        token = csrf_token(page.text)
        saved = browser.post(
            "/w/default/apps/model/environment",
            data={"csrf_token": token, "env": "NEW=1\n", "build_env": "PIP_INDEX=x"},
        )
        assert saved.status_code == 200
        assert "Saved:" in saved.text
        wrong = browser.post(
            "/w/default/apps/model/environment",
            data={"csrf_token": token, "env": "NEW=1", "build_env": "1BAD=x"},
        )
    assert wrong.status_code == 422
    assert 'id="e-build_env"' in wrong.text
    assert "1BAD" in wrong.text
    with server.client() as admin:
        shown = admin.apps.get("model")
    assert shown.env == {"NEW": "1"}
    assert shown.build_env == {"PIP_INDEX": "x"}


def test_webhooks_copy_url_with_secret_for_those_who_may_build(server: Server, model: str) -> None:
    with server.client() as admin:
        github = admin.apps.webhook_urls("model").urls["github"]
    with signed_in(server, "ann", "contributor") as browser:
        page = browser.get("/w/default/apps/model/webhooks")
        assert "Copy URL with Secret" in page.text
        assert f'value="{github}"' in page.text
        token = csrf_token(page.text)
        assert (
            browser.post(
                "/w/default/apps/model/webhooks/rotate", data={"csrf_token": token}
            ).status_code
            == 303
        )
        assert github not in browser.get("/w/default/apps/model/webhooks").text


def test_revisions_offer_rollback_to_complete_builds(server: Server, model: str) -> None:
    with signed_in(server, "ann", "contributor") as browser:
        page = browser.get("/w/default/apps/model/revisions")
        assert "build-2" in page.text
        assert "build-3" not in page.text
        assert "Rollback" in page.text
        refused = browser.post(
            "/w/default/apps/model/rollback", data={"csrf_token": csrf_token(page.text), "to": "3"}
        )
    assert refused.status_code == 409
    assert "only Complete builds serve" in refused.text


def test_events_list_who_changed_what(server: Server, model: str) -> None:
    with server.client() as admin:
        admin.apps.update("model", group="risk")
    with signed_in(server, "rita", "reader") as browser:
        page = browser.get("/w/default/apps/model/events")
    assert "Created" in page.text
    assert "Updated" in page.text
    assert "scoring → risk" in page.text


def test_lists_are_paginated_on_the_server(server: Server, tmp_path: Path) -> None:
    model_app(server, tmp_path)
    for _ in range(26):
        add_build(server, "model", BuildPhase.CANCELLED)
    with signed_in(server, "ann", "reader") as browser:
        first = browser.get("/w/default/apps/model/builds")
        second = browser.get("/w/default/apps/model/builds?page=2")
    assert "1 to 25 of 27" in first.text
    assert 'rel="next"' in first.text
    assert ">#27</a>" in first.text
    assert ">#1</a>" in second.text
    assert ">#27</a>" not in second.text

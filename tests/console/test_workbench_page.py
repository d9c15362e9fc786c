"""The Workbenches page: the user's own workbenches with Start, Stop and Open, checked on the
server (CSRF, ownership) whatever the page shows. (JupyterLab itself: tests/e2e.)"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.conftest import Server
from tests.console.browsing import csrf_token, signed_in


def test_create_list_and_open_a_workbench(server: Server) -> None:
    with signed_in(server, "dana", "data-scientist") as browser:
        page = browser.get("/w/default/workbenches")
        assert page.status_code == 200
        assert "no workbench in this workspace yet" in page.text
        assert 'href="/api/v1/workspaces/default/workbenches"' in page.text
        token = csrf_token(page.text)
        bad = browser.post(
            "/w/default/workbenches", data={"csrf_token": token, "name": "Lab!", "idle_timeout": ""}
        )
        assert bad.status_code == 422
        assert "workbench name" in bad.text
        assert 'aria-invalid="true"' in bad.text
        created = browser.post(
            "/w/default/workbenches",
            data={"csrf_token": token, "name": "lab", "idle_timeout": "2h"},
        )
        assert created.status_code == 303
        page = browser.get("/w/default/workbenches")
        assert '<th scope="row">lab</th>' in page.text
        assert "Stopped" in page.text
        assert "2h" in page.text
        assert "/w/default/workbenches/lab/start" in page.text
        # Open signs in on the workbench's own origin with a one-time code.
        opened = browser.post("/w/default/workbenches/lab/open", data={"csrf_token": token})
        assert opened.status_code == 303
        target = urlsplit(opened.headers["location"])
        assert target.hostname == "nb-dana-lab-default.apps.localhost"
        assert target.path == "/_wharf/sign-in"
        assert parse_qs(target.query)["code"]


def test_actions_need_the_csrf_token_and_the_owner(server: Server) -> None:
    with signed_in(server, "dana", "data-scientist") as dana:
        token = csrf_token(dana.get("/w/default/workbenches").text)
        dana.post("/w/default/workbenches", data={"csrf_token": token, "name": "lab"})
        for verb in ("start", "stop", "open"):
            forged = dana.post(f"/w/default/workbenches/lab/{verb}", data={})
            assert forged.status_code == 403, verb
    with signed_in(server, "carl", "contributor") as carl:
        page = carl.get("/w/default/workbenches")
        assert "no workbench in this workspace yet" in page.text
        assert 'scope="row">lab<' not in page.text
        token = csrf_token(page.text)
        for verb in ("start", "stop", "open"):
            answer = carl.post(f"/w/default/workbenches/lab/{verb}", data={"csrf_token": token})
            assert answer.status_code == 404, verb
    with signed_in(server, "rita", "reader") as rita:
        page = rita.get("/w/default/workbenches")
        assert page.status_code == 200
        assert "Create a workbench" not in page.text

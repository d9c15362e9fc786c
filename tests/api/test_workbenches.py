"""Workbench records through the API and the SDK: each user's own, checked input, a token of its
own that deleting revokes, and state that says why. (Running JupyterLab: tests/e2e.)"""

from __future__ import annotations

import pytest

from tests.conftest import Server
from wharf import Client
from wharf.sdk import AuthenticationError, InvalidRequestError, NotFoundError
from wharf.services import tokens
from wharf.states import WorkbenchPhase
from wharf.store.models import Token, Workbench


def test_a_workbench_is_its_owners_alone(server: Server, admin: Client) -> None:
    dana = server.user_with_role("dana", "data-scientist")
    carl = server.user_with_role("carl", "contributor")
    with server.client(dana) as as_dana, server.client(carl) as as_carl:
        created = as_dana.workbenches.create("lab", idle_timeout="2h", memory="2Gi", cpu="1")
        assert created.phase is WorkbenchPhase.STOPPED
        assert created.owner == "dana"
        assert created.idle_timeout == "2h"
        assert created.url.startswith("http://nb-dana-lab-default.apps.localhost")
        assert [w.name for w in as_dana.workbenches.list()] == ["lab"]
        # Another member, even one who may write everything else, sees nothing of it.
        assert as_carl.workbenches.list() == []
        for call in (
            lambda: as_carl.workbenches.get("lab"),
            lambda: as_carl.workbenches.start("lab"),
            lambda: as_carl.workbenches.stop("lab"),
            lambda: as_carl.workbenches.sign_in_url("lab"),
            lambda: as_carl.workbenches.delete("lab"),
        ):
            with pytest.raises(NotFoundError):
                call()
        # The same name is free for another user.
        assert as_carl.workbenches.create("lab").url.startswith("http://nb-carl-lab-default.")
    assert admin.workbenches.list() == []


def test_bad_input_is_refused_naming_what_was_wrong(server: Server, admin: Client) -> None:
    cases = [
        ({"name": "Lab_1"}, "workbench name"),
        ({"name": "lab", "idle_timeout": "soon"}, "idle timeout"),
        ({"name": "lab", "memory": "lots"}, "memory"),
        ({"name": "lab", "cpu": "-1"}, "cpu"),
        ({"name": "x" * 60}, "too long"),
    ]
    for body, words in cases:
        answer = server.http.post(
            "/api/v1/workspaces/default/workbenches",
            json=body,
            headers={"Authorization": f"Bearer {server.admin_token}"},
        )
        assert answer.status_code in (400, 422), (body, answer.text)
        assert words in answer.text.lower(), (body, answer.text)
    with pytest.raises(NotFoundError, match="source secret"):
        admin.workbenches.create("lab", source_secret="nope")
    admin.workbenches.create("lab")
    with pytest.raises(Exception, match="already have a workbench"):
        admin.workbenches.create("lab")
    with pytest.raises(InvalidRequestError):
        admin.workbenches.create("other", idle_timeout="0x")
    assert [w.name for w in admin.workbenches.list()] == ["lab"]  # nothing half-written


def test_its_token_works_until_the_workbench_is_deleted(server: Server) -> None:
    dana = server.user_with_role("dana", "data-scientist")
    with server.client(dana) as as_dana:
        as_dana.workbenches.create("lab")
        with server.platform.transaction() as session:
            workbench = session.query(Workbench).one()
            inside = server.platform.secrets.decrypt(workbench.sealed_token or "")
            assert tokens.authenticate(session, inside).user_name == "dana"
            token_id = workbench.token_id
        with server.client(inside) as from_the_workbench:
            assert [w.name for w in from_the_workbench.workbenches.list()] == ["lab"]
        as_dana.workbenches.delete("lab")
        with server.platform.transaction() as session:
            token = session.get(Token, token_id)
            assert token is not None
            assert token.revoked_at is not None
        with server.client(inside) as from_the_workbench, pytest.raises(AuthenticationError):
            from_the_workbench.workbenches.list()
        assert as_dana.workbenches.list() == []


def test_readers_may_look_but_not_create(server: Server) -> None:
    rita = server.user_with_role("rita", "reader")
    with server.client(rita) as as_rita:
        assert as_rita.workbenches.list() == []
        with pytest.raises(Exception, match="workbenches/write"):
            as_rita.workbenches.create("lab")

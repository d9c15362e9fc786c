"""The workbench gate, asked directly as the route proxy asks it: who passes, what Jupyter
then receives, and what never gets through."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import Server
from wharf.runtime.routes import Admission
from wharf.services import users, workbenches, workspaces
from wharf.services.workbench_access import COOKIE, SignIns, WorkbenchGate

KEY = "the-key-of-this-start"
HOST = b"nb-dana-lab-default.apps.localhost:8080"


def _gate(server: Server, sign_ins: SignIns) -> tuple[WorkbenchGate, int, int]:
    with server.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, "default")
        dana = users.read_user(session, "dana")
        spec = workbenches.WorkbenchSpec(name="lab")
        created = workbenches.create_workbench(
            session, server.platform.secrets, workspace, dana, spec
        )
        ids = created.id, dana.id
    gate = WorkbenchGate(
        server.platform,
        sign_ins,
        workbench_id=ids[0],
        owner_id=ids[1],
        jupyter_key=KEY,
        console_url="http://127.0.0.1:8080/w/default/workbenches",
    )
    return gate, ids[0], ids[1]


def _ask(
    gate: WorkbenchGate, path: str, headers: list[tuple[bytes, bytes]], **scope: Any
) -> Admission:
    full = {"type": "http", "method": "GET", "path": path, "query_string": b"", **scope}
    full["headers"] = [(b"host", HOST), *headers]
    return asyncio.run(gate.admit(full))


def _bearer(token: str) -> tuple[bytes, bytes]:
    return (b"authorization", f"Bearer {token}".encode())


def test_only_its_user_passes_and_jupyter_sees_the_key_not_the_token(server: Server) -> None:
    dana = server.user_with_role("dana", "data-scientist")
    carl = server.user_with_role("carl", "owner")
    gate, _, _ = _gate(server, SignIns())

    passed = _ask(gate, "/api/status", [_bearer(dana), (b"x-wharf-workbench-key", b"forged")])
    assert passed.admitted
    assert passed.headers is not None
    sent = dict(passed.headers)
    assert sent[b"x-wharf-workbench-key"] == KEY.encode()
    assert sent[b"x-wharf-credential"] == b"token"
    assert b"authorization" not in sent
    assert [v for k, v in passed.headers if k == b"x-wharf-workbench-key"] == [KEY.encode()]

    assert _ask(gate, "/api/status", [_bearer(carl)]).status == 403  # a workspace owner
    assert _ask(gate, "/api/status", [_bearer("wharf_forged")]).status == 401
    assert _ask(gate, "/api/status", [(b"authorization", f"token {KEY}".encode())]).status == 401
    assert _ask(gate, "/api/status", []).status == 401
    to_console = _ask(gate, "/lab", [(b"accept", b"text/html")])
    assert to_console.status == 303
    assert dict(to_console.answer_headers)[b"location"].endswith(b"/w/default/workbenches")

    server.platform.settings.workbench_owner_access = True  # the admin's choice
    assert _ask(gate, "/api/status", [_bearer(carl)]).admitted
    nobody = server.user_with_role("rita", "contributor")
    assert _ask(gate, "/api/status", [_bearer(nobody)]).status == 403


def test_a_sign_in_link_works_once_and_its_cookie_needs_xsrf(server: Server) -> None:
    server.user_with_role("dana", "data-scientist")
    sign_ins = SignIns()
    gate, workbench_id, dana_id = _gate(server, sign_ins)
    code = sign_ins.create_code(workbench_id, dana_id)

    first = _ask(gate, "/_wharf/sign-in", [], query_string=f"code={code}".encode())
    assert first.status == 303
    headers = dict(first.answer_headers)
    assert headers[b"location"] == b"/lab"
    cookie = headers[b"set-cookie"].decode()
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Domain" not in cookie
    again = _ask(gate, "/_wharf/sign-in", [], query_string=f"code={code}".encode())
    assert again.status == 401

    jar = cookie.split(";", 1)[0]
    as_browser = [(b"cookie", f"{jar}; _xsrf=abc".encode())]
    page = _ask(gate, "/lab", as_browser)
    assert page.admitted
    assert page.headers is not None
    forwarded = dict(page.headers)
    assert forwarded[b"cookie"] == b"_xsrf=abc"  # Wharf's cookie stays with the gate
    assert forwarded[b"x-wharf-credential"] == b"cookie"
    put = _ask(gate, "/api/contents/a.txt", as_browser, method="PUT")
    assert put.status == 403
    with_xsrf = [*as_browser, (b"x-xsrftoken", b"abc")]
    assert _ask(gate, "/api/contents/a.txt", with_xsrf, method="PUT").admitted
    socket = _ask(
        gate, "/api/kernels/k/channels", [*as_browser, (b"origin", b"http://evil.apps.localhost")],
        type="websocket",
    )  # fmt: skip
    assert socket.status == 403
    own = [*as_browser, (b"origin", b"http://" + HOST)]
    assert _ask(gate, "/api/kernels/k/channels", own, type="websocket").admitted
    # A cookie made for another workbench, or tampered with, is nobody's.
    other = SignIns().make_cookie(workbench_id, dana_id)
    assert _ask(gate, "/lab", [(b"cookie", f"{COOKIE}={other}".encode())]).status == 401

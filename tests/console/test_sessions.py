"""Console sign-in, sign-out, throttling, CSRF and cookies, against the in-process app."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import Server
from tests.console.browsing import (
    PASSWORD,
    browser,
    create_user,
    csrf_token,
    sign_in,
    signed_in,
)
from tests.inprocess import serve_in_process
from wharf.api import create_app
from wharf.config import Settings
from wharf.errors import TooManyAttempts, Unauthenticated
from wharf.services import console_sessions, passwords, users
from wharf.store.models import ConsoleSession


def test_a_page_sends_a_stranger_to_sign_in_and_back(server: Server) -> None:
    with browser(server) as client:
        response = client.get("/w/default/topology?q=web")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=%2Fw%2Fdefault%2Ftopology%3Fq%3Dweb"
        create_user(server, "ann", "reader")
        form = client.get(response.headers["location"])
        assert 'name="next" value="/w/default/topology?q=web"' in form.text
        signed = sign_in(client, "ann", next_url="/w/default/topology?q=web")
        assert signed.status_code == 303
        assert signed.headers["location"] == "/w/default/topology?q=web"
        page = client.get(signed.headers["location"])
        assert page.status_code == 200
        assert "<h1>Topology</h1>" in page.text


def test_the_session_cookie_is_httponly_lax_and_holds_only_a_random_secret(
    server: Server,
) -> None:
    create_user(server, "ann", "reader")
    with browser(server) as client:
        response = sign_in(client, "ann")
    cookie = next(
        v for k, v in response.headers.multi_items() if k == "set-cookie" and "wharf_session" in v
    )
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "path=/" in flags
    assert "secure" not in flags  # plain http here: a Secure cookie would never come back
    value = cookie.split(";")[0].split("=", 1)[1]
    with server.platform.transaction() as session:
        stored = [row.id_hash for row in session.query(ConsoleSession)]
    assert value not in stored
    assert len(stored) == 1


def test_the_session_cookie_is_secure_when_served_over_tls(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        config_dir=tmp_path / "config",
        public_url="https://wharf.example.test",
    )
    app = create_app(settings)
    with serve_in_process(app) as transport:
        with app.state.platform.transaction() as session:
            users.create_user(session, "ann").password_hash = passwords.hash_password(PASSWORD)
        with httpx.Client(transport=transport, base_url="https://testserver") as client:
            response = sign_in(client, "ann")
    assert response.status_code == 303
    assert "secure" in response.headers["set-cookie"].lower()


def test_sign_out_ends_the_session_on_the_server(server: Server) -> None:
    with signed_in(server, "ann") as client:
        page = client.get("/w/default/topology")
        kept = client.cookies["wharf_session"]
        response = client.post("/logout", data={"csrf_token": csrf_token(page.text)})
        assert response.status_code == 303
        assert response.headers["location"] == "/login"
        assert "wharf_session" not in client.cookies
    with browser(server) as replay:
        replay.cookies.set("wharf_session", kept)
        assert replay.get("/w/default/topology").status_code == 303


def test_a_post_without_the_csrf_token_is_refused(server: Server) -> None:
    with signed_in(server, "ann") as client:
        refused = client.post("/logout", data={})
        assert refused.status_code == 403
        assert "CSRF token" in refused.text
        wrong = client.post("/logout", data={"csrf_token": "forged"})
        assert wrong.status_code == 403
        assert client.get("/w/default/topology").status_code == 200  # still signed in


def test_the_sign_in_form_needs_its_own_csrf_cookie(server: Server) -> None:
    create_user(server, "ann", "reader")
    with browser(server) as client:
        response = client.post(
            "/login", data={"csrf_token": "x", "username": "ann", "password": PASSWORD}
        )
    assert response.status_code == 403
    assert "wharf_session" not in response.headers.get("set-cookie", "")


def test_a_wrong_password_is_shown_next_to_the_field(server: Server) -> None:
    create_user(server, "ann", "reader")
    with browser(server) as client:
        response = sign_in(client, "ann", "not the password")
        unknown = sign_in(client, "nobody", "not the password")
    assert response.status_code == 401
    assert 'id="e-password"' in response.text
    assert "the user name or the password is wrong" in response.text
    assert 'value="ann"' in response.text
    assert "wharf_session" not in response.headers.get("set-cookie", "")
    assert unknown.status_code == 401  # the same answer: it does not tell who exists


def test_wrong_passwords_lock_the_name_out_for_that_client(server: Server) -> None:
    create_user(server, "ann", "reader")
    with browser(server) as client:
        for _ in range(server.platform.settings.login_max_failures):
            assert sign_in(client, "ann", "guess").status_code == 401
        locked = sign_in(client, "ann")
    assert locked.status_code == 429
    assert "too many wrong passwords" in locked.text
    # Another client address is not locked out; the right password there still works.
    assert console_sessions.sign_in_with_password(server.platform, "ann", PASSWORD, "10.0.0.9")
    with pytest.raises(TooManyAttempts) as caught:
        console_sessions.sign_in_with_password(server.platform, "ann", PASSWORD, "127.0.0.1")
    assert caught.value.retry_after > 0


def test_a_pasted_token_signs_in_until_it_is_revoked(server: Server) -> None:
    token = server.user_with_role("bob", "reader")
    with browser(server) as client:
        form = client.get("/login")
        response = client.post("/login", data={"csrf_token": csrf_token(form.text), "token": token})
        assert response.status_code == 303
        page = client.get("/w/default/topology")
        assert page.status_code == 200
        assert "bob" in page.text
        with server.client(token) as bob:
            bob.tokens.revoke(bob.tokens.list()[0].id)
        assert client.get("/w/default/topology").status_code == 303


def test_a_bad_token_is_shown_next_to_its_field(server: Server) -> None:
    with browser(server) as client:
        form = client.get("/login")
        response = client.post(
            "/login", data={"csrf_token": csrf_token(form.text), "token": "wharf_nope"}
        )
    assert response.status_code == 401
    assert 'id="e-token"' in response.text


def test_sign_in_goes_only_to_paths_on_this_server(server: Server) -> None:
    create_user(server, "ann", "reader")
    with browser(server) as client:
        response = sign_in(client, "ann", next_url="//evil.example/")
    assert response.headers["location"] == "/"


def test_a_session_ends_after_its_lifetime(server: Server) -> None:
    with signed_in(server, "ann") as client:
        cookie = client.cookies["wharf_session"]
        with server.platform.transaction() as session:
            for row in session.query(ConsoleSession):
                row.expires_at = row.created_at
        assert client.get("/w/default/topology").status_code == 303
    with (
        server.platform.transaction() as session,
        pytest.raises(Unauthenticated, match="session has ended"),
    ):
        console_sessions.resume_session(session, server.platform.settings, cookie)


def test_a_non_member_sees_a_403_page(server: Server) -> None:
    with signed_in(server, "eve", role=None) as client:
        home = client.get("/")
        assert home.status_code == 200
        assert "No workspace yet" in home.text
        page = client.get("/w/default/topology")
    assert page.status_code == 403
    assert "not a member" in page.text
    assert page.headers["content-type"].startswith("text/html")


def test_pages_carry_security_headers_and_vendored_htmx(server: Server) -> None:
    with signed_in(server, "ann") as client:
        page = client.get("/", follow_redirects=True)
        assert page.status_code == 200
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["cache-control"] == "no-store"
        assert (
            '<link rel="alternate" type="application/json" href="/api/v1/workspaces/default/apps">'
            in page.text
        )
        htmx = client.get("/console/static/vendor/htmx.min.js")
    assert htmx.status_code == 200
    assert "htmx" in htmx.text[:200]


def test_console_routes_stay_out_of_the_openapi_document(server: Server) -> None:
    paths = server.http.get("/api/v1/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith(("/api/", "/hooks/"))]
    assert "/api/v1/users/{name}/password" in paths

"""A signed-in browser for in-process console tests: cookies, CSRF tokens, forms."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.conftest import Server
from wharf.services import members, passwords, users, workspaces

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(page: str) -> str:
    """The CSRF token in a page's first form."""
    match = _CSRF.search(page)
    assert match, "the page has no form with a CSRF token"
    return html.unescape(match.group(1))


def create_user(server: Server, name: str, role: str | None, password: str = PASSWORD) -> None:
    """A user with a console password and (unless None) ``role`` in ``default``."""
    with server.platform.transaction() as session:
        user = users.create_user(session, name)
        user.password_hash = passwords.hash_password(password)
        if role is not None:
            members.assign_role(session, workspaces.read_workspace(session, "default"), name, role)


@contextmanager
def browser(server: Server) -> Iterator[httpx.Client]:
    """A client with its own cookie jar, not signed in."""
    with httpx.Client(transport=server.transport, base_url="http://testserver") as client:
        yield client


def sign_in(
    client: httpx.Client, name: str, password: str = PASSWORD, next_url: str = "/"
) -> httpx.Response:
    """Fill in and send the sign-in form; the answer, redirects not followed."""
    form = client.get("/login")
    data = {"csrf_token": csrf_token(form.text), "username": name, "password": password}
    return client.post("/login", data={**data, "next": next_url})


@contextmanager
def signed_in(server: Server, name: str, role: str | None = "owner") -> Iterator[httpx.Client]:
    """A browser signed in as a new user ``name`` holding ``role`` in ``default``."""
    create_user(server, name, role)
    with browser(server) as client:
        response = sign_in(client, name)
        assert response.status_code == 303, response.text
        yield client

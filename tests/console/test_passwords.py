"""Setting console passwords: REST (yourself, or anyone as an admin), hashing, sessions."""

from __future__ import annotations

import pytest

from tests.conftest import Server
from tests.console.browsing import browser, sign_in, signed_in
from wharf.sdk import Client, InvalidRequestError, PermissionDeniedError
from wharf.services import passwords
from wharf.store.models import User


def test_a_password_is_stored_as_a_salted_scrypt_hash() -> None:
    first, second = (
        passwords.hash_password("a long password"),
        passwords.hash_password("a long password"),
    )
    assert first.startswith("scrypt$")
    assert first != second
    assert "a long password" not in first
    assert passwords.verify_password("a long password", first)
    assert not passwords.verify_password("a long passworD", first)
    assert not passwords.verify_password("anything", None)


def test_users_set_their_own_password_and_admins_anyones(server: Server, admin: Client) -> None:
    token = server.user_with_role("bob", "reader")
    admin.users.create("carol")
    with server.client(token) as bob:
        bob.users.set_password("bob", "bobs new password")
        with pytest.raises(PermissionDeniedError, match="only a platform admin"):
            bob.users.set_password("carol", "carols new password")
        with pytest.raises(InvalidRequestError, match="at least 10 characters"):
            bob.users.set_password("bob", "short")
    admin.users.set_password("carol", "carols new password")
    with server.platform.transaction() as session:
        hashes = {u.name: u.password_hash for u in session.query(User)}
    assert passwords.verify_password("bobs new password", hashes["bob"])
    assert passwords.verify_password("carols new password", hashes["carol"])
    with browser(server) as client:
        assert sign_in(client, "carol", "carols new password").status_code == 303


def test_a_new_password_ends_the_users_sessions(server: Server, admin: Client) -> None:
    with signed_in(server, "ann") as client:
        assert client.get("/w/default/topology").status_code == 200
        admin.users.set_password("ann", "an entirely new one")
        assert client.get("/w/default/topology").status_code == 303

"""Console passwords: scrypt hashes (standard library), set by admins or by the user."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from sqlalchemy import delete
from sqlalchemy.orm import Session

from wharf.errors import Forbidden, Invalid
from wharf.services import users
from wharf.services.auth import Principal
from wharf.store.models import ConsoleSession, User

MIN_LENGTH = 10
MAX_LENGTH = 1024
# scrypt at n=2**15, r=8 needs 32 MiB and ~50 ms: slow for a guesser, fine for a sign-in.
_N, _R, _P = 2**15, 8, 1
_MAXMEM = 64 * 1024 * 1024
_SCHEME = "scrypt"


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` with a random salt (both base64)."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _N, _R, _P)
    return "$".join((_SCHEME, str(_N), str(_R), str(_P), _b64(salt), _b64(digest)))


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored``. A user without a password matches nothing,
    after the same work as a real check (the time taken does not tell which users exist)."""
    if stored is None:
        _scrypt(password, b"no user, same work", _N, _R, _P)
        return False
    scheme, n, r, p, salt, expected = stored.split("$")
    if scheme != _SCHEME:
        return False
    digest = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    return hmac.compare_digest(digest, base64.b64decode(expected))


def check_password(password: str) -> None:
    """A password the console accepts: long enough, and not absurdly long."""
    if len(password) < MIN_LENGTH:
        raise Invalid(f"a password needs at least {MIN_LENGTH} characters", field="password")
    if len(password) > MAX_LENGTH:
        raise Invalid(f"a password has at most {MAX_LENGTH} characters", field="password")


def set_password(session: Session, principal: Principal, user_name: str, password: str) -> User:
    """Set ``user_name``'s console password (the user, or a platform admin). Their console
    sessions end: whoever knew the old password is signed out."""
    user = users.read_user(session, user_name)
    if user.id != principal.user_id and not principal.is_admin:
        raise Forbidden(f"only a platform admin can set the password of {user.name!r}")
    check_password(password)
    user.password_hash = hash_password(password)
    session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
    session.flush()
    return user


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()

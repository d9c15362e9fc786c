"""API tokens: random bearer secrets, stored as SHA-256 digests, with expiry and revocation."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from wharf.errors import Forbidden, Invalid, NotFound, Unauthenticated
from wharf.services.auth import Principal
from wharf.services.auth_cache import AuthCache, CachedCaller, CachedUser
from wharf.store.models import Token, User
from wharf.store.types import utcnow

TOKEN_PREFIX = "wharf_"  # noqa: S105 (a prefix that makes leaked tokens easy to scan for)
MAX_LIFETIME = timedelta(days=3650)
# Writing last_used_at on every request would turn each read into a write.
_LAST_USED_RESOLUTION = timedelta(minutes=1)
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_lifetime(text: str | None, default_days: int) -> timedelta | None:
    """``30d``, ``12h``, ``90m``, ``2w``, ``3600s`` or ``never`` (None); unset → the default."""
    if text is None or text == "":
        return timedelta(days=default_days)
    if text.strip().lower() == "never":
        return None
    match = _DURATION.match(text.lower())
    if not match or int(match.group(1)) == 0:
        raise Invalid(
            f"expires_in {text!r} is not a duration: use a number and a unit such as "
            "30d, 12h, 90m, 2w, or 'never'",
            field="expires_in",
        )
    lifetime = timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    if lifetime > MAX_LIFETIME:
        raise Invalid(f"expires_in {text!r} is longer than 3650 days", field="expires_in")
    return lifetime


def digest(token: str) -> str:
    """The stored form of a token. Tokens carry 256 random bits, so a plain hash suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session, user: User, *, name: str, lifetime: timedelta | None
) -> tuple[Token, str]:
    """A new token for ``user``; the plaintext is returned here once and never again."""
    if not name or len(name) > 100:
        raise Invalid("token name must be 1-100 characters", field="name")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = Token(
        id="tok_" + secrets.token_hex(6),
        user_id=user.id,
        name=name,
        token_hash=digest(plaintext),
        created_at=now,
        expires_at=None if lifetime is None else now + lifetime,
    )
    session.add(token)
    session.flush()
    return token, plaintext


def authenticate(session: Session, plaintext: str, cache: AuthCache | None = None) -> Principal:
    """The caller behind a bearer token, or Unauthenticated saying why not. With ``cache``,
    a valid token is remembered there (see :mod:`wharf.services.auth_cache`)."""
    generation = cache.generation if cache is not None else 0
    token_digest = digest(plaintext)
    query = select(Token).options(joinedload(Token.user))  # one query for token and user
    token = session.scalar(query.where(Token.token_hash == token_digest))
    if token is None:
        raise Unauthenticated("the token is not valid")
    now = utcnow()
    if token.revoked_at is not None:
        raise Unauthenticated(f"token {token.id} has been revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthenticated(f"token {token.id} expired at {token.expires_at.isoformat()}")
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        token.last_used_at = now
        session.flush()
    user = token.user
    if cache is not None:
        caller = CachedCaller(user.id, user.name, user.is_admin, token.id, token.expires_at)
        cache.keep_caller(token_digest, caller, generation)
        record = CachedUser(user.id, user.name, user.email, user.is_admin, user.created_at)
        cache.keep_user(record, generation)
    return Principal(user.id, user.name, user.is_admin, token.id)


def remembered_caller(cache: AuthCache, plaintext: str) -> Principal | None:
    """The caller behind a token the cache holds and that has not expired since; ``None``
    means: ask the store (:func:`authenticate`), which also says why a token is refused."""
    caller = cache.caller(digest(plaintext))
    if caller is None or (caller.expires_at is not None and caller.expires_at <= utcnow()):
        return None
    return Principal(caller.user_id, caller.user_name, caller.is_admin, caller.token_id)


def list_tokens(session: Session, user: User) -> list[Token]:
    """The user's tokens, newest first, revoked ones included."""
    return list(
        session.scalars(
            select(Token).where(Token.user_id == user.id).order_by(Token.created_at.desc())
        )
    )


def revoke_token(session: Session, principal: Principal, token_id: str) -> Token:
    """Revoke a token; users revoke their own, platform admins anyone's."""
    token = session.get(Token, token_id)
    if token is None or (token.user_id != principal.user_id and not principal.is_admin):
        raise NotFound(f"token {token_id!r} does not exist")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token


def check_token_owner(principal: Principal, user: User) -> None:
    """Only platform admins manage other users' tokens."""
    if user.id != principal.user_id and not principal.is_admin:
        raise Forbidden(f"only a platform admin can manage tokens of {user.name!r}")


def is_token_valid(session: Session, plaintext: str, at: datetime | None = None) -> bool:
    """Whether a token would authenticate now (used by ``wharf up`` to keep a working config)."""
    token = session.scalar(select(Token).where(Token.token_hash == digest(plaintext)))
    now = at or utcnow()
    return bool(
        token is not None
        and token.revoked_at is None
        and (token.expires_at is None or token.expires_at > now)
    )


def token_state(token: Token, at: datetime | None = None) -> str:
    """``active``, ``expired`` or ``revoked``."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= (at or utcnow()):
        return "expired"
    return "active"

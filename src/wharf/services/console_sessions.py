"""Web console sessions: sign-in by password or pasted token, throttling, CSRF, sign-out.

A session is a random secret in the browser's cookie; the store keeps its SHA-256 digest, the
user, the CSRF secret the session's forms carry, and when it ends (``console_session_hours``
after sign-in, or ``console_session_idle_minutes`` after its last use). Wrong passwords are
counted per (user name, client address): ``login_max_failures`` within
``login_lockout_minutes`` locks that pair out for ``login_lockout_minutes``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from wharf.config import Settings
from wharf.errors import Forbidden, ServiceError, TooManyAttempts, Unauthenticated
from wharf.services import passwords, tokens
from wharf.services.auth import Principal
from wharf.services.platform import Platform
from wharf.store.models import ConsoleSession, LoginThrottle, Token, User
from wharf.store.types import utcnow

_LAST_SEEN_RESOLUTION = timedelta(minutes=1)
WRONG_CREDENTIALS = "the user name or the password is wrong"


@dataclass(frozen=True)
class SignedIn:
    """A browser's session as a page sees it."""

    principal: Principal
    csrf_token: str
    workspace: str | None


def sign_in_with_password(platform: Platform, name: str, password: str, client: str) -> str:
    """A new session for the user whose password this is; its cookie value, returned once.
    A failure is recorded (and committed) before it is raised."""
    with platform.transaction() as session:
        outcome = _try_password(session, platform.settings, name, password, client)
    if isinstance(outcome, ServiceError):
        raise outcome
    return outcome


def sign_in_with_token(platform: Platform, plaintext: str) -> str:
    """A new session for the owner of an API token; it ends when the token does."""
    with platform.transaction() as session:
        principal = tokens.authenticate(session, plaintext.strip())
        user = session.get(User, principal.user_id)
        assert user is not None  # the token's user: deleting a user deletes its tokens
        return _start(session, platform.settings, user, principal.token_id)


def resume_session(session: Session, settings: Settings, cookie: str | None) -> SignedIn:
    """The signed-in user behind a session cookie, or Unauthenticated saying why not."""
    if not cookie:
        raise Unauthenticated("you are not signed in")
    query = select(ConsoleSession).options(joinedload(ConsoleSession.user))
    row = session.scalar(query.where(ConsoleSession.id_hash == _digest(cookie)))
    if row is None:
        raise Unauthenticated("you are not signed in")
    now = utcnow()
    idle = timedelta(minutes=settings.console_session_idle_minutes)
    if row.expires_at <= now or now - row.last_seen_at > idle:
        raise Unauthenticated("your session has ended: sign in again")
    if row.token_id is not None:
        token = session.get(Token, row.token_id)
        if token is None or tokens.token_state(token, now) != "active":
            raise Unauthenticated("the token this session started with is no longer valid")
    if now - row.last_seen_at > _LAST_SEEN_RESOLUTION:
        row.last_seen_at = now
        session.flush()
    user = row.user
    principal = Principal(user.id, user.name, user.is_admin, row.token_id)
    return SignedIn(principal, row.csrf_secret, row.workspace)


def check_csrf_token(signed_in: SignedIn, sent: str | None) -> None:
    """Refuse a form whose CSRF token is not this session's (a forged or stale form)."""
    if not sent or not hmac.compare_digest(sent.encode(), signed_in.csrf_token.encode()):
        raise Forbidden(
            "the form's CSRF token is missing or does not belong to this session: "
            "reload the page and send the form again",
            code="csrf",
        )


def remember_workspace(session: Session, cookie: str, workspace: str) -> None:
    """The workspace ``/`` leads to next time."""
    row = session.get(ConsoleSession, _digest(cookie))
    if row is not None and row.workspace != workspace:
        row.workspace = workspace
        session.flush()


def end_session(session: Session, cookie: str | None) -> None:
    """Sign out: the session is deleted, so its cookie is worthless even if kept."""
    if cookie:
        session.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == _digest(cookie)))


def end_stale_sessions(session: Session, settings: Settings) -> int:
    """Delete sessions that have ended (housekeeping); how many."""
    now = utcnow()
    idle_since = now - timedelta(minutes=settings.console_session_idle_minutes)
    result = session.execute(
        delete(ConsoleSession).where(
            (ConsoleSession.expires_at <= now) | (ConsoleSession.last_seen_at < idle_since)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _try_password(
    session: Session, settings: Settings, name: str, password: str, client: str
) -> str | ServiceError:
    now = utcnow()
    lockout = timedelta(minutes=settings.login_lockout_minutes)
    key = _digest(f"{name}\0{client}")
    throttle = session.get(LoginThrottle, key)
    if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
        wait = math.ceil((throttle.locked_until - now).total_seconds())
        return TooManyAttempts(
            f"too many wrong passwords for {name!r}: try again in {math.ceil(wait / 60)} minutes",
            retry_after=wait,
        )
    user = session.scalar(select(User).where(User.name == name))
    if passwords.verify_password(password, None if user is None else user.password_hash):
        assert user is not None
        if throttle is not None:
            session.delete(throttle)
        return _start(session, settings, user, None)
    if throttle is None:
        throttle = LoginThrottle(key=key, failures=0, window_started_at=now)
        session.add(throttle)
    elif now - throttle.window_started_at > lockout:
        throttle.failures, throttle.window_started_at, throttle.locked_until = 0, now, None
    throttle.failures += 1
    if throttle.failures >= settings.login_max_failures:
        throttle.locked_until = now + lockout
    session.flush()
    return Unauthenticated(WRONG_CREDENTIALS, field="password")


def _start(session: Session, settings: Settings, user: User, token_id: str | None) -> str:
    cookie = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        ConsoleSession(
            id_hash=_digest(cookie),
            user_id=user.id,
            token_id=token_id,
            csrf_secret=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.console_session_hours),
        )
    )
    session.flush()
    return cookie


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()

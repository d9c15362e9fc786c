"""Who reaches a workbench: its owner alone, with a Wharf credential, on the workbench's origin.

The route proxy asks a :class:`WorkbenchGate` about every request before it goes to Jupyter.
A request passes with ``Authorization: Bearer <wharf token>`` of the owner, or with the
workbench cookie that a one-time sign-in link set (``/_wharf/sign-in?code=...``, made by
``wharf notebook open``). The key JupyterLab admits (see :mod:`wharf.notebooks.identity`) is
added here, on the way in, and never leaves the server. A cookie-borne request that changes
something must also carry Jupyter's XSRF token (header ``X-XSRFToken`` equal to the ``_xsrf``
cookie, which JupyterLab sends), and a cookie-borne WebSocket must come from the workbench's
own origin: Jupyter checks both as well; the gate refuses earlier, before Jupyter is reached.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs, urlsplit

from starlette.types import Scope

from wharf.errors import Unauthenticated
from wharf.notebooks.keys import CREDENTIAL_HEADER, WORKBENCH_KEY_HEADER
from wharf.runtime.routes import Admission
from wharf.services import tokens, workbenches
from wharf.services.platform import Platform

COOKIE = "wharf-workbench"
SIGN_IN_PATH = "/_wharf/sign-in"
CODE_SECONDS = 120.0
COOKIE_SECONDS = 12 * 3600
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_KEY_HEADER = WORKBENCH_KEY_HEADER.lower().encode()
_CREDENTIAL_HEADER = CREDENTIAL_HEADER.lower().encode()
# Never passed on from the client: its Wharf credential, and what only the gate may say.
_REPLACED = frozenset({b"authorization", _KEY_HEADER, _CREDENTIAL_HEADER})


@dataclass(frozen=True)
class _Code:
    workbench_id: int
    user_id: int
    expires: float


class SignIns:
    """One-time sign-in codes and the cookies they turn into, for this server's workbenches.

    Held in memory with a key made at start: a workbench runs in one server process and stops
    with it, and so do its sign-ins."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._codes: dict[str, _Code] = {}
        self._lock = threading.Lock()

    def create_code(self, workbench_id: int, user_id: int) -> str:
        """A code that signs ``user_id`` in to the workbench once, within two minutes."""
        code = secrets.token_urlsafe(24)
        now = time.monotonic()
        with self._lock:
            self._codes = {k: v for k, v in self._codes.items() if v.expires > now}
            self._codes[code] = _Code(workbench_id, user_id, now + CODE_SECONDS)
        return code

    def redeem(self, code: str, workbench_id: int) -> int | None:
        """The user a code signs in (it is then used up); None for a bad or stale code."""
        with self._lock:
            found = self._codes.pop(code, None)
        if found is None or found.workbench_id != workbench_id:
            return None
        return found.user_id if found.expires > time.monotonic() else None

    def make_cookie(self, workbench_id: int, user_id: int) -> str:
        expires = int(time.time()) + COOKIE_SECONDS
        payload = f"{workbench_id}.{user_id}.{expires}"
        return f"{payload}.{self._sign(payload)}"

    def read_cookie(self, value: str, workbench_id: int) -> int | None:
        """The user a cookie names, if it is ours, for this workbench and not expired."""
        payload, _, signature = value.rpartition(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            workbench, user, expires = (int(part) for part in payload.split("."))
        except ValueError:
            return None
        if workbench != workbench_id or expires < time.time():
            return None
        return user

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()


class WorkbenchGate:
    """The route gate of one running workbench (see the module's docstring)."""

    def __init__(
        self,
        platform: Platform,
        sign_ins: SignIns,
        *,
        workbench_id: int,
        owner_id: int,
        jupyter_key: str,
        on_request: Callable[[], None] | None = None,
        console_url: str | None = None,
    ) -> None:
        self._platform = platform
        self._sign_ins = sign_ins
        self._workbench_id = workbench_id
        self._owner_id = owner_id
        self._key = jupyter_key.encode()
        self._on_request = on_request
        self._console_url = console_url

    async def admit(self, scope: Scope) -> Admission:
        if scope["path"] == SIGN_IN_PATH and scope["type"] == "http":
            return self._sign_in(scope)
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        bearer = _bearer(headers)
        cookies = _cookies(headers)
        if bearer is not None:
            user_id = await asyncio.to_thread(self._authenticate, bearer)
            if user_id is None:
                return _problem(401, "unauthenticated", "the token is not valid")
        elif COOKIE in cookies:
            user_id = self._sign_ins.read_cookie(cookies[COOKIE], self._workbench_id)
            if user_id is None:
                return _problem(401, "unauthenticated", "the sign-in has expired: open it again")
            refusal = _check_cookie_request(scope, headers, cookies)
            if refusal is not None:
                return refusal
        elif _wants_page(scope, headers) and self._console_url:
            return _redirect(self._console_url)  # to the console's Open button
        else:
            return _problem(
                401,
                "unauthenticated",
                "a workbench needs a Wharf credential: open it with 'wharf notebook open NAME' "
                "or the console's Open button, or send 'Authorization: Bearer <token>'",
            )
        if user_id != self._owner_id and not await asyncio.to_thread(self._may_enter, user_id):
            return _problem(403, "forbidden", "this workbench belongs to another user")
        if self._on_request is not None:
            self._on_request()
        return Admission(
            headers=self._forwarded(headers, b"token" if bearer is not None else b"cookie")
        )

    def _may_enter(self, user_id: int) -> bool:
        owners_too = self._platform.settings.workbench_owner_access
        if not owners_too:
            return False
        with self._platform.transaction() as session:
            return workbenches.may_enter(
                session, self._workbench_id, user_id, owners_too=owners_too
            )

    def _authenticate(self, token: str) -> int | None:
        try:
            with self._platform.transaction() as session:
                return tokens.authenticate(session, token).user_id
        except Unauthenticated:
            return None

    def _sign_in(self, scope: Scope) -> Admission:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        code = (query.get("code") or [""])[0]
        user_id = self._sign_ins.redeem(code, self._workbench_id) if code else None
        if user_id is None or user_id != self._owner_id:
            return _problem(
                401, "unauthenticated", "this sign-in link is used up or expired: open it again"
            )
        secure = "; Secure" if scope.get("scheme") in ("https", "wss") else ""
        value = self._sign_ins.make_cookie(self._workbench_id, user_id)
        cookie = f"{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={COOKIE_SECONDS}"
        answer = _redirect("/lab")
        answer.answer_headers.append((b"set-cookie", (cookie + secure).encode()))
        return answer

    def _forwarded(
        self, headers: list[tuple[bytes, bytes]], credential: bytes
    ) -> list[tuple[bytes, bytes]]:
        """The client's headers without its Wharf credential, with the key Jupyter admits."""
        kept: list[tuple[bytes, bytes]] = []
        for name, value in headers:
            if name in _REPLACED:
                continue
            if name == b"cookie":
                value = _without_cookie(value)
                if not value:
                    continue
            kept.append((name, value))
        kept.append((_KEY_HEADER, self._key))
        kept.append((_CREDENTIAL_HEADER, credential))
        return kept


def _check_cookie_request(
    scope: Scope, headers: list[tuple[bytes, bytes]], cookies: dict[str, str]
) -> Admission | None:
    """XSRF for a cookie-borne request: Jupyter's double-submit token, or the same origin."""
    if scope["type"] == "websocket":
        origin = _header(headers, b"origin")
        if origin is not None and urlsplit(origin).netloc != (_header(headers, b"host") or ""):
            return _problem(403, "forbidden", "a workbench's WebSocket opens from its own page")
        return None
    if scope["method"] not in _UNSAFE_METHODS:
        return None
    sent = _header(headers, b"x-xsrftoken") or _header(headers, b"x-csrftoken")
    expected = cookies.get("_xsrf")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        return _problem(403, "xsrf", "the request lacks the workbench's XSRF token")
    return None


def _wants_page(scope: Scope, headers: list[tuple[bytes, bytes]]) -> bool:
    """A browser opening a page (not a script, not an API call)."""
    accept = _header(headers, b"accept") or ""
    return scope["type"] == "http" and scope["method"] == "GET" and "text/html" in accept


def _redirect(location: str) -> Admission:
    return Admission(
        status=303,
        answer_headers=[
            (b"location", location.encode()),
            (b"cache-control", b"no-store"),
            (b"content-length", b"0"),
        ],
    )


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def _bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    value = _header(headers, b"authorization")
    if value is None:
        return None
    scheme, _, credentials = value.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else ""


def _cookies(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in headers:
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:
                continue
            found.update({key: morsel.value for key, morsel in jar.items()})
    return found


def _without_cookie(value: bytes) -> bytes:
    parts = [part.strip() for part in value.split(b";")]
    return b"; ".join(p for p in parts if p and not p.startswith(COOKIE.encode() + b"="))


def _problem(status: int, code: str, detail: str) -> Admission:
    body = json.dumps(
        {"type": "about:blank", "title": "Workbench", "status": status, "code": code,
         "detail": detail}
    ).encode()  # fmt: skip
    return Admission(
        status=status,
        answer_headers=[
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
        ],
        body=body,
    )

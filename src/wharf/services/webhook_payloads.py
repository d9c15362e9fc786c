"""What git hosts send to a webhook, read into one shape: signatures checked, pushes found.

Each provider names its event, its delivery id and its signature in headers of its own, and
lays out a push differently; :func:`read_delivery` turns all of them into a
:class:`Delivery`. A body that is not what the provider sends is a :class:`BadRequest`
naming what is missing; a signature that does not match is :class:`Unauthenticated`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs

from wharf.errors import BadRequest, Unauthenticated

PROVIDERS = ("github", "gitlab", "gitea", "bitbucket", "generic")
Action = Literal["push", "ping", "ignore"]
_SHA = re.compile(r"^[0-9a-f]{7,64}$")
_ZERO_SHA = re.compile(r"^0+$")


@dataclass(frozen=True)
class Push:
    """One ref a push moved: ``kind`` is ``branch`` or ``tag``; ``commit`` None when the
    push deleted the ref."""

    kind: Literal["branch", "tag"]
    name: str
    commit: str | None


@dataclass(frozen=True)
class Delivery:
    """One webhook call, read: what happened and, for a push, which refs moved where.
    ``pushes`` is empty for a generic call without a ref (build the tracked ref's tip)."""

    action: Action
    event: str
    delivery_id: str | None
    pushes: tuple[Push, ...] = ()


def _header(headers: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = headers.get(name.lower())
        if value:
            return value.strip()
    return None


def _hmac_sha256(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(
    provider: str, headers: Mapping[str, str], body: bytes, signing_secret: str
) -> None:
    """Check the provider's signature of ``body`` against the app's signing secret."""
    if provider == "gitlab":
        token = _header(headers, "X-Gitlab-Token")
        if token is None:
            raise Unauthenticated("the X-Gitlab-Token header is missing (the app has a secret)")
        if not hmac.compare_digest(token.encode(), signing_secret.encode()):
            raise Unauthenticated("the X-Gitlab-Token header does not match the signing secret")
        return
    if provider == "gitea":
        names: tuple[str, ...] = ("X-Gitea-Signature", "X-Forgejo-Signature", "X-Gogs-Signature")
        prefix = ""
    elif provider == "bitbucket":
        names, prefix = ("X-Hub-Signature",), "sha256="
    else:  # github, and generic callers that sign the way GitHub does
        names, prefix = ("X-Hub-Signature-256",), "sha256="
    given = _header(headers, *names)
    if given is None:
        raise Unauthenticated(
            f"the {names[0]} header is missing: the app has a signing secret, so deliveries "
            "must be signed"
        )
    expected = prefix + _hmac_sha256(signing_secret, body)
    if not hmac.compare_digest(given.lower().encode(), expected.encode()):
        raise Unauthenticated(
            f"the {names[0]} signature does not match the body signed with the signing secret"
        )


def _json_body(body: bytes, content_type: str, *, form_field: str | None = None) -> Any:
    text = body.decode("utf-8", errors="replace")
    if form_field and content_type.startswith("application/x-www-form-urlencoded"):
        values = parse_qs(text).get(form_field)
        if values:
            text = values[0]
        elif not text.lstrip().startswith("{"):  # JSON sent with curl's default type is fine
            raise BadRequest(f"the form body has no '{form_field}' field", field=form_field)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"the body is not JSON: {exc.msg} at character {exc.pos}") from exc


def _field(payload: Any, path: str) -> Any:
    """``payload[a][b]`` for ``path`` ``"a.b"``; BadRequest naming it when absent."""
    value = payload
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise BadRequest(f"the push payload has no '{path}'", field=path)
        value = value[part]
    return value


def _commit(value: Any, path: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _SHA.fullmatch(value.lower()):
        raise BadRequest(f"'{path}' is not a commit SHA: {value!r}", field=path)
    return None if _ZERO_SHA.fullmatch(value) else value.lower()


def _ref_push(ref: Any, commit: str | None, path: str = "ref") -> Push:
    if not isinstance(ref, str) or not ref:
        raise BadRequest(f"'{path}' is not a git ref: {ref!r}", field=path)
    if ref.startswith("refs/tags/"):
        return Push("tag", ref.removeprefix("refs/tags/"), commit)
    return Push("branch", ref.removeprefix("refs/heads/"), commit)


def _github_like(payload: Any, *, deleted_field: bool) -> tuple[Push, ...]:
    commit = _commit(_field(payload, "after"), "after")
    if deleted_field and payload.get("deleted") is True:
        commit = None
    return (_ref_push(_field(payload, "ref"), commit),)


def _github(headers: Mapping[str, str], body: bytes, content_type: str) -> Delivery:
    event = _header(headers, "X-GitHub-Event")
    if event is None:
        raise BadRequest("the X-GitHub-Event header is missing", field="X-GitHub-Event")
    delivery = _header(headers, "X-GitHub-Delivery")
    if event == "ping":
        return Delivery("ping", event, delivery)
    if event != "push":
        return Delivery("ignore", event, delivery)
    payload = _json_body(body, content_type, form_field="payload")
    return Delivery("push", event, delivery, _github_like(payload, deleted_field=True))


def _gitlab(headers: Mapping[str, str], body: bytes, content_type: str) -> Delivery:
    event = _header(headers, "X-Gitlab-Event")
    if event is None:
        raise BadRequest("the X-Gitlab-Event header is missing", field="X-Gitlab-Event")
    # Idempotency-Key stays the same when GitLab retries a delivery; the event UUID may not.
    delivery = _header(headers, "Idempotency-Key", "X-Gitlab-Event-UUID")
    if event not in ("Push Hook", "Tag Push Hook"):
        return Delivery("ignore", event, delivery)
    payload = _json_body(body, content_type)
    return Delivery("push", event, delivery, _github_like(payload, deleted_field=False))


def _gitea(headers: Mapping[str, str], body: bytes, content_type: str) -> Delivery:
    event = _header(headers, "X-Gitea-Event", "X-Forgejo-Event", "X-Gogs-Event")
    if event is None:
        raise BadRequest("the X-Gitea-Event (or X-Forgejo-Event) header is missing")
    delivery = _header(headers, "X-Gitea-Delivery", "X-Forgejo-Delivery", "X-Gogs-Delivery")
    if event != "push":
        return Delivery("ignore", event, delivery)
    payload = _json_body(body, content_type)
    return Delivery("push", event, delivery, _github_like(payload, deleted_field=False))


def _bitbucket(headers: Mapping[str, str], body: bytes, content_type: str) -> Delivery:
    event = _header(headers, "X-Event-Key")
    if event is None:
        raise BadRequest("the X-Event-Key header is missing", field="X-Event-Key")
    delivery = _header(headers, "X-Request-UUID", "X-Hook-UUID")
    if event == "diagnostics:ping":
        return Delivery("ping", event, delivery)
    if event != "repo:push":
        return Delivery("ignore", event, delivery)
    changes = _field(_json_body(body, content_type), "push.changes")
    if not isinstance(changes, list):
        raise BadRequest("'push.changes' is not a list", field="push.changes")
    pushes = []
    for index, change in enumerate(changes):
        where = f"push.changes[{index}]"
        side = change.get("new") or change.get("old") if isinstance(change, dict) else None
        if not isinstance(side, dict):
            raise BadRequest(f"'{where}' has neither 'new' nor 'old'", field=where)
        kind: Literal["branch", "tag"] = (
            "tag" if side.get("type") in ("tag", "annotated_tag") else "branch"
        )
        name = side.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequest(f"'{where}' names no branch or tag", field=where)
        commit = None
        if change.get("new"):
            commit = _commit(_field(change["new"], "target.hash"), f"{where}.new.target.hash")
        pushes.append(Push(kind, name, commit))
    return Delivery("push", event, delivery, tuple(pushes))


def _generic(headers: Mapping[str, str], body: bytes, content_type: str) -> Delivery:
    delivery = _header(headers, "X-Wharf-Delivery", "Idempotency-Key", "X-Request-Id")
    if not body.strip():
        return Delivery("push", "generic", delivery)  # no body: build the tracked ref's tip
    payload = _json_body(body, content_type)
    git = payload.get("git") if isinstance(payload, dict) else None
    if not isinstance(git, dict):
        raise BadRequest('the body has no \'git\' object: send {"git": {"ref", "commit"}}')
    commit = _commit(git.get("commit"), "git.commit")
    if git.get("ref") is None:
        return Delivery("push", "generic", delivery, (Push("branch", "", commit),))
    return Delivery("push", "generic", delivery, (_ref_push(git["ref"], commit, "git.ref"),))


_READERS = {
    "github": _github,
    "gitlab": _gitlab,
    "gitea": _gitea,
    "bitbucket": _bitbucket,
    "generic": _generic,
}


def read_delivery(
    provider: str, headers: Mapping[str, str], body: bytes, content_type: str
) -> Delivery:
    """Read one webhook call. ``headers`` must have lower-case names."""
    return _READERS[provider](headers, body, content_type.lower())

"""Backend failures become Wharf errors whose text never holds a datastore secret.

Storage SDKs put whatever they like in exception text: connection strings, signed URLs,
request headers. Every failure that crosses a datastore goes through
:func:`translate_backend_errors`, which re-raises it as :class:`NotFound` or
:class:`Invalid` with each secret (and the forms derived from it that can be detected)
replaced by ``***``, and without chaining the original exception into tracebacks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from urllib.parse import parse_qsl, quote, quote_plus

from wharf.errors import Invalid, NotFound, ServiceError, TimedOut

MASK = "***"
_DETAIL_LENGTH = 300

# Shapes that carry a secret whatever its value: seen in SDK messages and URLs.
_SECRET_SHAPES = (
    re.compile(r"(AccountKey=)[^;\s'\"]+", re.IGNORECASE),
    re.compile(r"(SharedAccessSignature=)[^;\s'\"]+", re.IGNORECASE),
    re.compile(r"([?&;]sig=)[^&;\s'\"]+", re.IGNORECASE),
    re.compile(r"(X-Amz-Signature=)[^&\s'\"]+", re.IGNORECASE),
    re.compile(r"(X-Amz-Security-Token=)[^&\s'\"]+", re.IGNORECASE),
    re.compile(r"(\"private_key(?:_id)?\"\s*:\s*\")[^\"]*", re.IGNORECASE),
    re.compile(r"()-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
)


def expand_secret_forms(values: Iterable[str]) -> list[str]:
    """Every spelling of ``values`` worth hiding, longest first.

    Besides each raw value: its URL-encoded, JSON-escaped and ``repr`` forms, the
    ``AccountKey`` and ``SharedAccessSignature`` of a connection string, the parameters
    of a SAS token, and the key fields of a service-account JSON document.
    """
    forms: set[str] = set()
    for value in values:
        for part in (value, *_derived_parts(value)):
            if part:
                forms.update({part, quote(part, safe=""), quote_plus(part), json.dumps(part)[1:-1]})
                forms.add(repr(part)[1:-1])
    # Longest first, so that a value is never half-replaced through a shorter part of it.
    return sorted((form for form in forms if form), key=len, reverse=True)


def scrub_secrets(text: str, secret_forms: Sequence[str]) -> str:
    """``text`` with every form in ``secret_forms`` and every secret-shaped token masked."""
    for form in secret_forms:
        text = text.replace(form, MASK)
    for shape in _SECRET_SHAPES:
        text = shape.sub(lambda match: match.group(1) + MASK, text)
    return text


def translate_backend_error(
    error: BaseException, *, datastore: str, path: str, secret_forms: Sequence[str]
) -> ServiceError:
    """The Wharf error for a backend ``error`` met at ``path`` (both texts scrubbed)."""
    if isinstance(error, ServiceError):
        # Wharf's own errors keep their class and code; only their text is scrubbed.
        error.detail = scrub_secrets(error.detail, secret_forms)
        error.args = (error.detail,)
        return error
    detail = _describe(error, secret_forms)
    where = f"datastore {datastore!r}" + (f", path {path!r}" if path else "")
    status = _http_status(error)
    if isinstance(error, FileNotFoundError) or status == 404:
        return NotFound(f"{where}: not found ({detail})", code="datastore-path-not-found")
    if isinstance(error, PermissionError) or status in (401, 403):
        return Invalid(
            f"{where}: access was refused; check the datastore's credentials ({detail})",
            code="datastore-access-denied",
        )
    if isinstance(error, TimeoutError) or _is_timeout(error):
        return TimedOut(
            f"{where}: the storage service did not answer in time ({detail}); the server waits "
            "WHARF_STORAGE_TIMEOUT_SECONDS to connect and for each read",
            code="storage-timeout",
        )
    if isinstance(error, ConnectionError) or _is_connection_failure(error):
        return Invalid(
            f"{where}: the storage service cannot be reached ({detail})",
            code="datastore-unreachable",
        )
    return Invalid(f"{where}: the storage service failed ({detail})", code="datastore-error")


@contextmanager
def translate_backend_errors(
    *, datastore: str, path: str, secret_forms: Sequence[str]
) -> Iterator[None]:
    """Re-raise any exception in the block through :func:`translate_backend_error`."""
    try:
        yield
    except Exception as error:
        translated = translate_backend_error(
            error, datastore=datastore, path=path, secret_forms=secret_forms
        )
        # "from None": tracebacks and logs must not print the original, unscrubbed text.
        raise translated from None


def _derived_parts(value: str) -> list[str]:
    parts: list[str] = []
    if ";" in value and "=" in value:  # a connection string
        for item in value.split(";"):
            key, _, secret = item.partition("=")
            if key.strip().lower() in ("accountkey", "sharedaccesssignature") and secret:
                parts.append(secret)
                parts.extend(_sas_parts(secret))
    if "sig=" in value:
        parts.extend(_sas_parts(value))
    if value.lstrip().startswith("{"):
        try:
            document = json.loads(value)
        except ValueError:
            document = None
        if isinstance(document, dict):
            parts.extend(
                str(document[key])
                for key in ("private_key", "private_key_id", "client_secret", "refresh_token")
                if document.get(key)
            )
    return parts


def _sas_parts(token: str) -> list[str]:
    # Only the signature is secret enough to hunt for alone; the other parameters
    # (expiry, permissions) are ordinary words that would mangle messages.
    return [value for key, value in parse_qsl(token.lstrip("?")) if key.lower() == "sig"]


def _describe(error: BaseException, secret_forms: Sequence[str]) -> str:
    # Scrub the whole text before shortening it: a cut could split a secret and hide it
    # from the replacement.
    text = scrub_secrets(str(error), secret_forms).strip()
    first_line = text.splitlines()[0] if text else ""
    detail = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
    if len(detail) > _DETAIL_LENGTH:
        detail = detail[:_DETAIL_LENGTH] + "..."
    return detail


def _http_status(error: BaseException) -> int | None:
    """The HTTP status that azure-core, gcsfs or botocore attach to their errors."""
    for attribute in ("status_code", "code", "status"):
        value = getattr(error, attribute, None)
        if isinstance(value, int) and 100 <= value < 600:
            return value
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        metadata = response.get("ResponseMetadata", {})
        status = metadata.get("HTTPStatusCode") if isinstance(metadata, dict) else None
        return status if isinstance(status, int) else None
    return None


def _is_connection_failure(error: BaseException) -> bool:
    # The SDKs wrap socket errors in their own classes; their names say what happened.
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(
        names
        & {
            "ServiceRequestError",
            "ClientConnectorError",
            "EndpointConnectionError",
            "ServerDisconnectedError",
        }
    )


def _is_timeout(error: BaseException) -> bool:
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(
        names
        & {
            "ConnectTimeoutError",
            "ReadTimeoutError",
            "ServerTimeoutError",
            "ConnectionTimeoutError",
            "SocketTimeoutError",
            "FSTimeoutError",
        }
    )

"""Secrets never reach an error: backend failures are translated and scrubbed."""

from __future__ import annotations

import json
import traceback
from typing import Any
from urllib.parse import quote

import pytest

from wharf.errors import Invalid, NotFound, ServiceError, TimedOut
from wharf.storage.backend_errors import (
    expand_secret_forms,
    scrub_secrets,
    translate_backend_error,
)
from wharf.storage.datastore_config import S3DatastoreConfig
from wharf.storage.datastores import OpenDatastore

KEY = "Zm9vYmFyK2Jhei9xdXV4PT0+c2VjcmV0LWtleQ=="
SAS = "sv=2024-01-01&ss=b&sp=rl&se=2030-01-01&sig=Q2xldmVyU2lnbmF0dXJlVmFsdWU%3D"
PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
)


class LeakyError(Exception):
    """Like an SDK error that quotes the request it failed on."""


class FailingFileSystem:
    """An fsspec-like filesystem whose every call fails with ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def _strip_protocol(self, path: str) -> str:
        return path

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise self.error

        return fail


def open_failing(error: BaseException, secrets: list[str]) -> OpenDatastore:
    return OpenDatastore(
        name="blobs",
        config=S3DatastoreConfig(bucket="container"),
        fs=FailingFileSystem(error),
        root="container",
        secret_forms=expand_secret_forms(secrets),
    )


def everything_shown(error: BaseException) -> str:
    """All the text a log or a response could carry about ``error``."""
    extra = error.extra if isinstance(error, ServiceError) else {}
    return "\n".join(
        [str(error), repr(error), "".join(traceback.format_exception(error)), repr(extra)]
    )


@pytest.mark.parametrize(
    "leak",
    [
        f"Authorization failed for AccountKey={KEY};",
        f"request to https://acct.blob.core.windows.net/c?{SAS} failed",
        f"bad key {quote(KEY, safe='')} in query",
        f"cannot decode {json.dumps(PRIVATE_KEY)}",
        f"key was {KEY!r}",
    ],
)
def test_backend_errors_lose_every_form_of_the_secret(leak: str) -> None:
    store = open_failing(
        LeakyError(leak),
        [KEY, SAS, json.dumps({"type": "service_account", "private_key": PRIVATE_KEY})],
    )
    with pytest.raises(Invalid) as caught:
        store.read_bytes("x.csv")
    shown = everything_shown(caught.value)
    for secret in (KEY, "Q2xldmVyU2lnbmF0dXJlVmFsdWU", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"):
        assert secret not in shown
    assert "***" in str(caught.value)
    assert caught.value.code == "datastore-error"
    assert "datastore 'blobs', path 'x.csv'" in str(caught.value)


def test_secret_shapes_are_masked_even_when_the_value_is_unknown() -> None:
    text = (
        "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc123==;"
        " url?sv=1&sig=zzz&se=2 X-Amz-Signature=deadbeef "
        '{"private_key": "-----BEGIN RSA PRIVATE KEY-----\\nAAA"}'
    )
    scrubbed = scrub_secrets(text, [])
    for secret in ("abc123", "zzz", "deadbeef", "AAA"):
        assert secret not in scrubbed
    assert "AccountName=a" in scrubbed


@pytest.mark.parametrize(
    ("error", "kind", "code"),
    [
        (FileNotFoundError("container/x.csv"), NotFound, "datastore-path-not-found"),
        (
            PermissionError("The request signature we calculated does not match"),
            Invalid,
            "datastore-access-denied",
        ),
        (ConnectionRefusedError("connect failed"), Invalid, "datastore-unreachable"),
        (TimeoutError("read timed out"), TimedOut, "storage-timeout"),
        (ValueError("odd"), Invalid, "datastore-error"),
    ],
)
def test_backend_errors_map_to_the_error_vocabulary(
    error: Exception, kind: type[ServiceError], code: str
) -> None:
    translated = translate_backend_error(error, datastore="d", path="p", secret_forms=[])
    assert type(translated) is kind
    assert translated.code == code


def test_http_statuses_on_sdk_errors_are_understood() -> None:
    class HttpResponseError(Exception):
        status_code = 403

    class ResourceNotFoundError(Exception):
        status_code = 404

    forbidden = translate_backend_error(
        HttpResponseError("no"), datastore="d", path="", secret_forms=[]
    )
    assert forbidden.code == "datastore-access-denied"
    missing = translate_backend_error(
        ResourceNotFoundError("ContainerNotFound"), datastore="d", path="", secret_forms=[]
    )
    assert isinstance(missing, NotFound)


def test_the_original_exception_is_not_chained_into_tracebacks() -> None:
    store = open_failing(PermissionError(f"denied with key {KEY}"), [KEY])
    with pytest.raises(Invalid) as caught:
        store.list_paths()
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert KEY not in "".join(traceback.format_exception(caught.value))


def test_secret_forms_include_derived_parts() -> None:
    connection_string = f"DefaultEndpointsProtocol=https;AccountName=a;AccountKey={KEY};"
    forms = expand_secret_forms([connection_string, f"?{SAS}"])
    assert KEY in forms
    assert quote(KEY, safe="") in forms
    assert "Q2xldmVyU2lnbmF0dXJlVmFsdWU=" in forms  # the SAS signature, decoded
    assert forms == sorted(forms, key=len, reverse=True)

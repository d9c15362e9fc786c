"""HTTPS from ``wharf up``: the self-signed CA and certificate, the TLS settings, and where
plain http to a TLS route is sent."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store
from pydantic import ValidationError

from wharf.config import Settings
from wharf.errors import Invalid
from wharf.runtime.route_problems import refuse_insecure
from wharf.runtime.routes import RouteMatch
from wharf.services.tls import check_given, ensure_self_signed

pytestmark = pytest.mark.timeout(60)


def _verify(folder: Path, name: x509.DNSName | x509.IPAddress) -> None:
    ca = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    server = x509.load_pem_x509_certificate((folder / "server.pem").read_bytes())
    verifier = PolicyBuilder().store(Store([ca])).build_server_verifier(name)
    verifier.verify(server, [])


def test_a_self_signed_ca_signs_a_server_certificate_for_local_names(tmp_path: Path) -> None:
    files = ensure_self_signed(tmp_path / "tls", "apps.example")
    assert files.ca == tmp_path / "tls" / "ca.pem"
    for key in ("ca.key", "server.key"):
        assert (tmp_path / "tls" / key).stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "tls").stat().st_mode & 0o777 == 0o700
    for name in (
        x509.DNSName("localhost"),
        x509.DNSName("heart-default.apps.example"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ):
        _verify(tmp_path / "tls", name)
    with pytest.raises(x509.verification.VerificationError):
        _verify(tmp_path / "tls", x509.DNSName("elsewhere.example"))


def test_a_restart_reuses_both_and_a_new_domain_reissues_only_the_server(tmp_path: Path) -> None:
    folder = tmp_path / "tls"
    ensure_self_signed(folder, "apps.example")
    ca, server = (folder / "ca.pem").read_bytes(), (folder / "server.pem").read_bytes()
    ensure_self_signed(folder, "apps.example")
    assert (folder / "ca.pem").read_bytes() == ca
    assert (folder / "server.pem").read_bytes() == server
    ensure_self_signed(folder, "apps.other")
    assert (folder / "ca.pem").read_bytes() == ca  # clients keep trusting it
    assert (folder / "server.pem").read_bytes() != server
    _verify(folder, x509.DNSName("x-default.apps.other"))


def test_given_files_are_checked_in_plain_words(tmp_path: Path) -> None:
    files = ensure_self_signed(tmp_path / "tls", "apps.example")
    assert check_given(files.cert, files.key).ca is None
    with pytest.raises(Invalid, match=r"WHARF_TLS_CERT .* is not a readable file"):
        check_given(tmp_path / "missing.pem", files.key)
    with pytest.raises(Invalid, match=r"WHARF_TLS_KEY .* is not an unencrypted PEM key"):
        check_given(files.cert, files.cert)


def test_the_tls_port_and_urls(tmp_path: Path) -> None:
    plain = Settings(data_dir=tmp_path, port=8080)
    assert not plain.serves_tls
    assert plain.https_url is None
    assert plain.effective_public_url == "http://127.0.0.1:8080"
    served = Settings(data_dir=tmp_path, port=8080, tls="self-signed")
    assert served.effective_tls_port == 8443
    assert served.https_url == "https://127.0.0.1:8443"
    assert served.plain_url == "http://127.0.0.1:8080"
    assert served.effective_public_url == "https://127.0.0.1:8443"
    high = Settings(data_dir=tmp_path, port=65500, tls="self-signed")
    assert high.effective_tls_port == 65500 - 363
    named = Settings(
        data_dir=tmp_path, tls="self-signed", tls_port=9443, public_url="http://wharf.lan:8080"
    )
    assert named.https_url == "https://wharf.lan:9443"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tls_cert": "c.pem"}, "given together"),
        ({"tls_cert": "c.pem", "tls_key": "k.pem", "tls": "self-signed"}, "contradict"),
        ({"tls": "self-signed", "port": 9000, "tls_port": 9000}, "both 9000"),
    ],
)
def test_contradicting_tls_settings_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(**fields)  # type: ignore[arg-type]


def _scope(host: str) -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": "http",
        "path": "/apps/default/heart/x",
        "raw_path": b"/apps/default/heart/x",
        "query_string": b"a=1",
        "headers": [(b"host", host.encode())],
    }


@pytest.mark.parametrize(
    ("host", "port", "location"),
    [
        ("127.0.0.1:8080", 8443, "https://127.0.0.1:8443/apps/default/heart/x?a=1"),
        ("[::1]:8080", 8443, "https://[::1]:8443/apps/default/heart/x?a=1"),
        ("wharf.example", 443, "https://wharf.example/apps/default/heart/x?a=1"),
        ("wharf.example:80", None, "https://wharf.example:80/apps/default/heart/x?a=1"),
    ],
)
def test_redirects_go_to_the_https_port(host: str, port: int | None, location: str) -> None:
    target: Any = object()  # only its presence matters here
    match = RouteMatch(name="default/heart", target=target, prefix="", insecure_policy="Redirect")
    refusal = refuse_insecure(match, _scope(host), port)
    assert refusal is not None
    assert refusal[0]["status"] == 308
    assert dict(refusal[0]["headers"])[b"location"] == location.encode()

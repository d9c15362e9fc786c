"""The certificate ``wharf up`` serves HTTPS with: the admin's own, or one it makes for itself.

A self-signed setup is a small CA kept in ``<data_dir>/tls`` that signs a server certificate
for the loopback names and ``*.{apps_domain}``. Clients trust the CA (``WHARF_CA_CERT``), so
the server certificate can be re-issued (a new apps domain, near expiry) without them noticing.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from wharf.errors import Invalid

_CA_DAYS = 3650
_SERVER_DAYS = 397  # what browsers accept for a server certificate
_RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class TlsFiles:
    """What uvicorn loads, and the CA clients should trust (None: the admin's own chain)."""

    cert: Path
    key: Path
    ca: Path | None = None


def check_given(cert: Path, key: Path) -> TlsFiles:
    """The admin's certificate and key, read once so a wrong file stops ``wharf up`` with a
    sentence rather than an ssl traceback."""
    for path, what in ((cert, "WHARF_TLS_CERT"), (key, "WHARF_TLS_KEY")):
        if not path.is_file():
            raise Invalid(f"{what} {path} is not a readable file")
    try:
        x509.load_pem_x509_certificate(cert.read_bytes())
    except ValueError as exc:
        raise Invalid(f"WHARF_TLS_CERT {cert} is not a PEM certificate: {exc}") from None
    try:
        serialization.load_pem_private_key(key.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise Invalid(f"WHARF_TLS_KEY {key} is not an unencrypted PEM key: {exc}") from None
    return TlsFiles(cert=cert, key=key)


def server_names(apps_domain: str) -> list[x509.GeneralName]:
    """Every name a self-signed server certificate covers."""
    return [
        x509.DNSName("localhost"),
        x509.DNSName(f"*.{apps_domain}"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]


def ensure_self_signed(folder: Path, apps_domain: str) -> TlsFiles:
    """The CA and server certificate in ``folder``: reused when present and current, the
    server one re-issued when its names changed or it nears expiry, the CA made once."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    files = TlsFiles(cert=folder / "server.pem", key=folder / "server.key", ca=folder / "ca.pem")
    ca_key_path = folder / "ca.key"
    assert files.ca is not None
    if files.ca.exists() and ca_key_path.exists():
        ca_cert = x509.load_pem_x509_certificate(files.ca.read_bytes())
        ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            raise Invalid(f"{ca_key_path} is not the EC key Wharf made: remove {folder}")
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _issue_ca(ca_key)
        _write_private(ca_key_path, _key_pem(ca_key))
        files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        files.cert.unlink(missing_ok=True)  # signed by a CA that is gone
    if not _server_is_current(files.cert, ca_cert, apps_domain):
        server_key = ec.generate_private_key(ec.SECP256R1())
        server_cert = _issue_server(server_key, ca_key, ca_cert, apps_domain)
        _write_private(files.key, _key_pem(server_key))
        files.cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    return files


def _server_is_current(path: Path, ca_cert: x509.Certificate, apps_domain: str) -> bool:
    if not path.exists() or not path.with_suffix(".key").exists():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    if cert.issuer != ca_cert.subject:
        return False
    if cert.not_valid_after_utc - _now() < _RENEW_BEFORE:
        return False
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(names) == set(server_names(apps_domain))


def _issue_ca(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Wharf local CA")])
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _issue_server(
    key: ec.EllipticCurvePrivateKey,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    apps_domain: str,
) -> x509.Certificate:
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(server_names(apps_domain)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, data: bytes) -> None:
    """Written with mode 0600 from the start: a key is never readable by others, even briefly."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)

"""The one private-network check (https:// inputs, datastore endpoints), and https://
filesystems that check every connection and never write."""

from __future__ import annotations

import asyncio
import datetime
import functools
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from wharf.errors import Invalid
from wharf.storage.checked_resolver import CheckedResolver
from wharf.storage.network import (
    HostAllowList,
    Resolver,
    check_url,
    guard_socket,
    resolve_host,
)
from wharf.storage.urls import ReadOnlyError, open_https_filesystem

NONE = HostAllowList()
EVERY_HOST = HostAllowList.parse("*")


def check_public_url(url: str, *, allow_private: bool, resolve: Resolver = resolve_host) -> None:
    check_url(url, allowed=EVERY_HOST if allow_private else NONE, resolve=resolve)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x",
        "https://127.8.9.10:8443/x",
        "https://[::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://10.1.2.3/x",
        "https://172.16.0.1/x",
        "https://192.168.1.1/x",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fe80::1]/x",
        "https://0.0.0.0/x",
        "https://224.0.0.1/x",
        "https://100.64.0.1/x",
        "https://240.0.0.1/x",
        "https://[fd00::1]/x",
        "https://localhost/x",
        # Other spellings of loopback that the system resolver reads as 127.0.0.1.
        "https://2130706433/x",
        "https://0177.0.0.1/x",
        "https://0x7f.0.0.1/x",
        "https://127.1/x",
        "https://[::ffff:7f00:1]/x",
        "https://[fd00:ec2::254]/latest/meta-data/",
        "https://[::]/x",
    ],
)
def test_non_public_addresses_are_refused(url: str) -> None:
    with pytest.raises(Invalid, match="is refused") as caught:
        check_public_url(url, allow_private=False)
    assert caught.value.code == "url-not-allowed"
    assert "WHARF_ALLOW_PRIVATE_URLS" in str(caught.value) or "cloud metadata" in str(caught.value)


def test_public_addresses_pass_and_the_admin_can_allow_private_ones() -> None:
    check_public_url("https://93.184.216.34/data.csv", allow_private=False)
    check_public_url("https://[2606:4700::6810:84e5]/data.csv", allow_private=False)
    check_public_url("https://127.0.0.1/x", allow_private=True)


def test_the_allow_list_names_hosts_and_ports_and_never_metadata() -> None:
    allowed = HostAllowList.parse("127.0.0.1:9000, [::1]:*, *.corp.example")
    check_url("http://127.0.0.1:9000/x", allowed=allowed, schemes=("http",))
    check_url("https://[::1]:8443/x", allowed=allowed)
    with pytest.raises(Invalid, match=r"'127\.0\.0\.1:9001'"):
        check_url("http://127.0.0.1:9001/x", allowed=allowed, schemes=("http",))
    # Another spelling of an allowed address is not the allowed host: refused.
    with pytest.raises(Invalid, match="is refused"):
        check_url("http://2130706433:9000/x", allowed=allowed, schemes=("http",))
    dns = fake_dns({"minio.corp.example": ["10.0.0.7"], "evil.example": ["10.0.0.7"]})
    check_url("https://minio.corp.example/x", allowed=allowed, resolve=dns)
    with pytest.raises(Invalid, match="is refused"):
        check_url("https://evil.example/x", allowed=allowed, resolve=dns)
    for metadata in ("http://169.254.169.254/latest", "http://[fd00:ec2::254]/"):
        with pytest.raises(Invalid, match="cloud metadata"):
            check_url(metadata, allowed=EVERY_HOST, schemes=("http",))
    assert HostAllowList.parse("true") == EVERY_HOST
    assert HostAllowList.parse("") == HostAllowList.parse("false") == NONE
    with pytest.raises(ValueError, match="not a host"):
        HostAllowList.parse("127.0.0.1:http")


def test_the_resolver_answers_only_with_checked_addresses() -> None:
    async def resolve(resolver: CheckedResolver, host: str) -> list[str]:
        try:
            return [str(result["host"]) for result in await resolver.resolve(host, 443)]
        finally:
            await resolver.close()

    with pytest.raises(OSError, match="connection refused by Wharf: localhost"):
        asyncio.run(resolve(CheckedResolver(NONE), "localhost"))
    allowed = CheckedResolver(HostAllowList.parse("localhost:443"))
    assert "127.0.0.1" in asyncio.run(resolve(allowed, "localhost"))
    # The sockets for what it let through may open; others may not.
    opened = allowed.socket_factory((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443)))
    opened.close()
    with pytest.raises(OSError, match="connection refused by Wharf"):
        allowed.socket_factory((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", 443)))


def fake_dns(answers: dict[str, list[str]]) -> Any:
    def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[host]

    return resolve


def test_every_address_of_a_name_counts() -> None:
    dns = fake_dns(
        {
            "data.example.org": ["93.184.216.34"],
            "rebind.example.org": ["93.184.216.34", "10.0.0.5"],
            "nothing.example.org": [],
        }
    )
    check_public_url("https://data.example.org/x.csv", allow_private=False, resolve=dns)
    with pytest.raises(Invalid, match=r"10\.0\.0\.5 is a private address"):
        check_public_url("https://rebind.example.org/x.csv", allow_private=False, resolve=dns)
    with pytest.raises(Invalid, match="cannot be resolved"):
        check_public_url("https://missing.example.org/x", allow_private=False, resolve=dns)
    with pytest.raises(Invalid, match="has no address"):
        check_public_url("https://nothing.example.org/x", allow_private=False, resolve=dns)


def test_only_https_urls_with_a_host_are_checked() -> None:
    for url in ("http://93.184.216.34/x", "https:///x", "s3://bucket/x"):
        with pytest.raises(Invalid, match="not an https:// URL with a host"):
            check_public_url(url, allow_private=False)


def test_messages_do_not_repeat_a_signed_query() -> None:
    with pytest.raises(Invalid) as caught:
        check_public_url("https://127.0.0.1/x?sig=SIGNATURE", allow_private=False)
    assert "SIGNATURE" not in str(caught.value)


def test_the_socket_guard_refuses_private_addresses_and_opens_public_ones() -> None:
    with pytest.raises(OSError, match=r"connection refused by Wharf: 127\.0\.0\.1 is a loopback"):
        guard_socket((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443)))
    with pytest.raises(OSError, match="link-local"):
        guard_socket((socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("fe80::1%2", 443, 0, 2)))
    opened = guard_socket((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443)))
    opened.close()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Tests read results, not access logs."""


@pytest.fixture
def https_site(tmp_path: Path, tls_files: tuple[Path, Path]) -> Iterator[str]:
    """An HTTPS file server on a loopback port, serving ``tmp_path / "site"``."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "data.csv").write_text("a,b\n1,2\n")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(*tls_files)
    handler = functools.partial(QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def trusting(tls_files: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls_files[0]))


def test_an_allowed_https_url_is_read(https_site: str, tls_files: tuple[Path, Path]) -> None:
    fs = open_https_filesystem(allowed=EVERY_HOST, ssl_context=trusting(tls_files))
    assert fs.cat_file(f"{https_site}/data.csv") == b"a,b\n1,2\n"
    with fs.open(f"{https_site}/data.csv", "rb") as handle:
        assert handle.read() == b"a,b\n1,2\n"


def test_https_filesystems_never_write(https_site: str, tls_files: tuple[Path, Path]) -> None:
    fs = open_https_filesystem(allowed=EVERY_HOST, ssl_context=trusting(tls_files))
    with pytest.raises(ReadOnlyError):
        fs.pipe_file(f"{https_site}/new.csv", b"x")
    with pytest.raises(ReadOnlyError):
        fs.open(f"{https_site}/new.csv", "wb")
    with pytest.raises(ReadOnlyError):
        fs.put_file(__file__, f"{https_site}/new.csv")


def test_every_connection_is_guarded_not_only_the_first_check(
    https_site: str, tls_files: tuple[Path, Path]
) -> None:
    # The filesystem itself refuses loopback even when the caller skipped check_url
    # (a redirect, a link in a listing, or DNS that answers differently the second time).
    fs = open_https_filesystem(allowed=NONE, ssl_context=trusting(tls_files))
    with pytest.raises(OSError, match="connection refused by Wharf"):
        fs.cat_file(f"{https_site}/data.csv")

"""``https://`` inputs: refuse addresses inside the server's network, and read, never write.

A URL in a job input makes the server connect where a caller says, so a name that leads
to loopback, link-local (cloud metadata at 169.254.169.254), private or otherwise
non-public addresses is refused unless the admin allows it (``WHARF_ALLOW_PRIVATE_URLS``).
The check runs twice: :func:`check_public_url` before a job is accepted, for a clear
error, and again on every connection the filesystem makes (redirects, links found in
listings, a name that resolves differently later), through the socket factory.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import ssl
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from fsspec.implementations.http import HTTPFileSystem  # type: ignore[import-untyped]

from wharf.errors import Invalid
from wharf.storage.references import describe_reference

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressInfo = tuple[Any, ...]
Resolver = Callable[[str, int], Sequence[str]]


class ReadOnlyError(PermissionError):
    """A write was attempted through an ``https://`` reference."""


def find_address_problem(address: IPAddress) -> str | None:
    """Which kind of non-public address ``address`` is, or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind, flag in (
        ("a loopback", address.is_loopback),
        ("an unspecified", address.is_unspecified),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a private", address.is_private),
        ("a reserved", address.is_reserved),
        ("a non-public", not address.is_global),
    ):
        if flag:
            return f"{address} is {kind} address"
    return None


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, as the client uses it)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def check_public_url(url: str, *, allow_private: bool, resolve: Resolver = resolve_host) -> None:
    """Refuse an ``https://`` URL whose host is, or resolves to, a non-public address.

    Every address counts: a name with one public and one private address is refused. A
    name that does not resolve is refused too, since it cannot be read.
    """
    shown = describe_reference(url)
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise Invalid(f"URL {shown!r} cannot be read", code="invalid-reference") from None
    if parts.scheme != "https" or not host:
        raise Invalid(f"URL {shown!r} is not an https:// URL with a host", code="invalid-reference")
    if allow_private:
        return
    try:
        addresses = [ipaddress.ip_address(host.split("%")[0])]
    except ValueError:
        try:
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolve(host, port or 443)]
        except OSError as exc:
            raise Invalid(
                f"URL {shown!r}: host {host!r} cannot be resolved ({exc.strerror or exc})",
                code="url-not-allowed",
            ) from None
    if not addresses:
        raise Invalid(f"URL {shown!r}: host {host!r} has no address", code="url-not-allowed")
    for address in addresses:
        problem = find_address_problem(address)
        if problem is not None:
            raise Invalid(
                f"URL {shown!r} is refused: {host} leads to {problem}, and the server "
                "does not read from its own network (an admin can allow it with "
                "WHARF_ALLOW_PRIVATE_URLS)",
                code="url-not-allowed",
            )


def guard_socket(address_info: AddressInfo) -> socket.socket:
    """aiohttp socket factory that refuses to connect to a non-public address."""
    family, kind, protocol, _, socket_address = address_info
    problem = find_address_problem(ipaddress.ip_address(str(socket_address[0]).split("%")[0]))
    if problem is not None:
        # With an errno, aiohttp keeps the reason in its own error's message.
        raise OSError(errno.EACCES, f"connection refused by Wharf: {problem}")
    return socket.socket(family, kind, protocol)


class ReadOnlyHTTPFileSystem(HTTPFileSystem):  # type: ignore[misc]
    """fsspec's HTTP filesystem with its write operations (POST/PUT) switched off."""

    async def _put_file(self, *args: Any, **kwargs: Any) -> None:
        raise ReadOnlyError("https:// references are read-only")

    async def _pipe_file(self, *args: Any, **kwargs: Any) -> None:
        raise ReadOnlyError("https:// references are read-only")

    def _open(self, path: str, mode: str = "rb", *args: Any, **kwargs: Any) -> Any:
        if mode != "rb":
            raise ReadOnlyError("https:// references are read-only")
        return super()._open(path, mode, *args, **kwargs)


def open_https_filesystem(
    *, allow_private: bool, ssl_context: ssl.SSLContext | None = None
) -> ReadOnlyHTTPFileSystem:
    """A read-only filesystem for ``https://`` URLs.

    Unless ``allow_private``, every connection it opens is checked by :func:`guard_socket`.
    ``ssl_context`` replaces the default certificate checks (a private CA, or a test's
    self-signed certificate); the environment's proxy settings are not used.
    """

    async def create_session(**kwargs: Any) -> aiohttp.ClientSession:
        kwargs.pop("loop", None)  # fsspec passes its loop; the session uses the running one
        connector = aiohttp.TCPConnector(
            ssl=ssl_context if ssl_context is not None else True,
            socket_factory=None if allow_private else guard_socket,
        )
        return aiohttp.ClientSession(connector=connector, trust_env=False, **kwargs)

    return ReadOnlyHTTPFileSystem(get_client=create_session, skip_instance_cache=True)

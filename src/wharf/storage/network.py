"""The one private-network check for every URL the server or a job fetches for a user.

A URL a user gives (an ``https://`` job input, a datastore's ``endpoint_url`` or
``account_url``) makes the server connect where the user says. A host that is, or resolves
to, a loopback, link-local, private, shared (CGNAT), multicast, unspecified or otherwise
non-public address is refused, unless its ``host:port`` matches the admin's allow-list
(``WHARF_ALLOW_PRIVATE_URLS``, e.g. ``127.0.0.1:*,*.corp.example``). Cloud metadata
addresses are refused even then.

The check runs when the URL is given (a clear 4xx) and again where the connection is made:
:class:`~wharf.storage.checked_resolver.CheckedResolver` hands the HTTP client only addresses it
has checked (the name is resolved once, and that answer is the one connected to), and
:func:`guard_socket` checks the address of every socket the client opens, IP literals and
redirects included.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

from wharf.errors import Invalid
from wharf.storage.references import describe_reference

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressInfo = tuple[Any, ...]
Resolver = Callable[[str, int], Sequence[str]]

#: Instance metadata services: never reachable for a user, whatever the allow-list says.
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("169.254.170.2"),
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("100.100.100.200"),
    }
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def plain_address(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address (``::ffff:127.0.0.1``) counts as the IPv4 it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def find_address_problem(address: IPAddress) -> str | None:
    """Which kind of non-public address ``address`` is, or None for a public one."""
    address = plain_address(address)
    for kind, flag in (
        ("a cloud metadata", address in METADATA_ADDRESSES),
        ("a loopback", address.is_loopback),
        ("an unspecified", address.is_unspecified),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a shared (CGNAT)", isinstance(address, ipaddress.IPv4Address) and address in _SHARED),
        ("a private", address.is_private),
        ("a reserved", address.is_reserved),
        ("a non-public", not address.is_global),
    ):
        if flag:
            return f"{address} is {kind} address"
    return None


def parse_address(text: str) -> IPAddress:
    """An address as a socket or resolver reports it (an IPv6 zone, ``%eth0``, is dropped)."""
    return ipaddress.ip_address(text.split("%")[0])


@dataclass(frozen=True)
class HostAllowList:
    """The admin's ``host:port`` patterns whose private addresses may be reached.

    A pattern is ``host`` (any port) or ``host:port``, where either part may use ``*``
    wildcards; an IPv6 host is written in brackets (``[::1]:*``). ``*`` alone allows every
    host. Hosts are compared as the user wrote them, lower-cased.
    """

    patterns: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> HostAllowList:
        """Patterns from a comma-separated list; ``true`` means ``*`` (the old switch)."""
        text = text.strip()
        if text.lower() in ("", "false", "0", "no", "off"):
            return cls()
        if text.lower() in ("true", "1", "yes", "on"):
            text = "*"
        patterns = []
        for item in text.split(","):
            item = item.strip().lower()
            if not item:
                continue
            host, port = _split_pattern(item)
            if not host or (port != "*" and not port.replace("*", "").isdigit() and port):
                raise ValueError(f"{item!r} is not a host or host:port pattern")
            patterns.append((host, port or "*"))
        return cls(tuple(patterns))

    def allows(self, host: str, port: int) -> bool:
        """Whether the admin allows ``host:port`` to be a private address."""
        host = host.lower().strip("[]")
        return any(
            fnmatchcase(host, pattern_host) and fnmatchcase(str(port), pattern_port)
            for pattern_host, pattern_port in self.patterns
        )

    def __str__(self) -> str:
        return ",".join(f"{host}:{port}" for host, port in self.patterns) or "none"


NO_PRIVATE_HOSTS = HostAllowList()


def _split_pattern(item: str) -> tuple[str, str]:
    if item.startswith("["):
        host, _, rest = item[1:].partition("]")
        return host, rest.removeprefix(":")
    if item.count(":") == 1:
        host, _, port = item.partition(":")
        return host, port
    return item, ""


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, as the clients use it).

    The system resolver also reads the numeric spellings of IPv4 (``2130706433``,
    ``0177.0.0.1``, ``0x7f.1``), so they are checked as the address they mean.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def check_url(
    url: str,
    *,
    allowed: HostAllowList,
    schemes: Sequence[str] = ("https",),
    what: str = "URL",
    resolve: Resolver = resolve_host,
) -> list[IPAddress]:
    """Refuse ``url`` when its host is, or resolves to, a non-public address that the admin
    has not allowed; return the addresses it resolves to.

    Every address counts: a name with one public and one private address is refused. A
    name that does not resolve is refused too, since it cannot be read.
    """
    shown = describe_reference(url)
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise Invalid(f"{what} {shown!r} cannot be read", code="invalid-reference") from None
    if parts.scheme not in schemes or not host:
        spelled = " or ".join(f"{scheme}://" for scheme in schemes)
        raise Invalid(
            f"{what} {shown!r} is not an {spelled} URL with a host", code="invalid-reference"
        )
    port = port or _DEFAULT_PORTS.get(parts.scheme, 443)
    try:
        addresses = [parse_address(host)]
    except ValueError:
        try:
            addresses = [parse_address(a) for a in resolve(host, port)]
        except OSError as exc:
            raise Invalid(
                f"{what} {shown!r}: host {host!r} cannot be resolved ({exc.strerror or exc})",
                code="url-not-allowed",
            ) from None
    if not addresses:
        raise Invalid(f"{what} {shown!r}: host {host!r} has no address", code="url-not-allowed")
    for address in addresses:
        problem = find_address_problem(address)
        if problem is None:
            continue
        if plain_address(address) in METADATA_ADDRESSES:
            raise Invalid(
                f"{what} {shown!r} is refused: {host} leads to {problem}, which Wharf never "
                "reads for a user",
                code="url-not-allowed",
            )
        if not allowed.allows(host, port):
            raise Invalid(
                f"{what} {shown!r} is refused: {host} leads to {problem}, and the server "
                "does not connect to its own network for a user (an admin can allow this "
                f"host with WHARF_ALLOW_PRIVATE_URLS, e.g. '{host}:{port}')",
                code="url-not-allowed",
            )
    return addresses


def guard_socket(
    address_info: AddressInfo,
    allowed: HostAllowList = NO_PRIVATE_HOSTS,
    allowed_addresses: set[IPAddress] | frozenset[IPAddress] = frozenset(),
) -> socket.socket:
    """Open the socket aiohttp asks for, unless it would reach a non-public address that
    neither the allow-list (as an IP literal) nor a checked resolution allowed."""
    family, kind, protocol, _, socket_address = address_info
    address = parse_address(str(socket_address[0]))
    problem = find_address_problem(address)
    if problem is not None:
        permitted = plain_address(address) not in METADATA_ADDRESSES and (
            address in allowed_addresses or allowed.allows(str(address), int(socket_address[1]))
        )
        if not permitted:
            # With an errno, aiohttp keeps the reason in its own error's message.
            raise OSError(errno.EACCES, f"connection refused by Wharf: {problem}")
    return socket.socket(family, kind, protocol)

"""The aiohttp resolver that connects only to checked addresses (see
:mod:`wharf.storage.network`). A module of its own so that the allow-list and the URL check
(read by the settings, and so by every process) do not load aiohttp."""

from __future__ import annotations

import errno
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from wharf.storage.network import (
    METADATA_ADDRESSES,
    AddressInfo,
    HostAllowList,
    IPAddress,
    find_address_problem,
    guard_socket,
    parse_address,
    plain_address,
)


class CheckedResolver(AbstractResolver):
    """An aiohttp resolver that answers only with addresses that pass the check.

    The client connects to exactly the addresses returned here, so a name cannot resolve to
    a public address when checked and to a private one when connected (DNS rebinding).
    Addresses it lets through for an allowed host are remembered, so that
    :meth:`socket_factory` lets their sockets open.
    """

    def __init__(self, allowed: HostAllowList) -> None:
        self._allowed = allowed
        self.allowed_addresses: set[IPAddress] = set()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        # Made per call: it binds to the running loop, and clients may build this resolver
        # before theirs runs.
        results = await ThreadedResolver().resolve(host, port, family)
        for result in results:
            address = parse_address(str(result["host"]))
            problem = find_address_problem(address)
            if problem is None:
                continue
            if plain_address(address) in METADATA_ADDRESSES or not self._allowed.allows(host, port):
                raise OSError(errno.EACCES, f"connection refused by Wharf: {host}: {problem}")
            self.allowed_addresses.add(address)
        return results

    async def close(self) -> None:
        """Nothing to release: each resolution uses a resolver of its own."""

    def socket_factory(self, address_info: AddressInfo) -> socket.socket:
        """aiohttp socket factory: :func:`guard_socket`, knowing which addresses were allowed."""
        return guard_socket(address_info, self._allowed, self.allowed_addresses)

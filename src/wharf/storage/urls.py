"""``https://`` inputs: read through a filesystem that checks every connection, never write.

The URL is checked by :func:`wharf.storage.network.check_url` before a job is accepted, for a
clear error; the filesystem below checks again on every connection it makes (redirects, links
found in listings, a name that resolves differently later): its resolver answers only with
checked addresses, and those are the addresses it connects to.
"""

from __future__ import annotations

import ssl
from typing import Any

import aiohttp
from fsspec.implementations.http import HTTPFileSystem  # type: ignore[import-untyped]

from wharf.storage.checked_resolver import CheckedResolver
from wharf.storage.network import HostAllowList


class ReadOnlyError(PermissionError):
    """A write was attempted through an ``https://`` reference."""


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
    *,
    allowed: HostAllowList,
    timeout_seconds: float | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> ReadOnlyHTTPFileSystem:
    """A read-only filesystem for ``https://`` URLs.

    Every name it resolves and every connection it opens is checked (see
    :class:`CheckedResolver`); ``allowed`` are the admin's private hosts. ``timeout_seconds``
    bounds connecting and each read. ``ssl_context`` replaces the default certificate checks
    (a private CA, or a test's self-signed certificate); the environment's proxy settings are
    not used.
    """

    async def create_session(**kwargs: Any) -> aiohttp.ClientSession:
        kwargs.pop("loop", None)  # fsspec passes its loop; the session uses the running one
        resolver = CheckedResolver(allowed)
        connector = aiohttp.TCPConnector(
            ssl=ssl_context if ssl_context is not None else True,
            resolver=resolver,
            socket_factory=resolver.socket_factory,
        )
        timeout = aiohttp.ClientTimeout(sock_connect=timeout_seconds, sock_read=timeout_seconds)
        return aiohttp.ClientSession(
            connector=connector, trust_env=False, timeout=timeout, **kwargs
        )

    return ReadOnlyHTTPFileSystem(get_client=create_session, skip_instance_cache=True)

"""Listening ports: say plainly when one is taken, before a server tries to bind it."""

from __future__ import annotations

import errno
import socket

from wharf.errors import Conflict


def check_port_free(host: str, port: int) -> None:
    """Conflict when ``host:port`` cannot be listened on (in use, or not an address here)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise Conflict(
                    f"port {port} on {host} is already in use: stop what uses it, "
                    "or choose another with --port"
                ) from None
            raise Conflict(f"cannot listen on {host}:{port}: {exc.strerror}") from None

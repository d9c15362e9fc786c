"""Routes: the names an app answers to, and what the proxy learns from matching a request."""

from __future__ import annotations

import ipaddress
import re
import threading
from dataclasses import dataclass, field
from typing import Literal, Protocol

from starlette.types import Scope

from wharf.errors import Invalid
from wharf.runtime.replicas import ReplicaSet

PATH_ROUTE_ROOT = "/apps"
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
)


@dataclass(frozen=True, order=True)
class AppKey:
    workspace: str
    app: str

    def __str__(self) -> str:
        return f"{self.workspace}/{self.app}"


@dataclass(frozen=True)
class Admission:
    """A gate's answer: forward with ``headers`` (replacing the client's), or answer with
    ``status``/``answer_headers``/``body`` and never reach the replica."""

    headers: list[tuple[bytes, bytes]] | None = None
    status: int = 403
    answer_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""

    @property
    def admitted(self) -> bool:
        return self.headers is not None


class RouteGate(Protocol):
    """Who may pass a route: asked for every request (HTTP and WebSocket) before it goes to a
    replica. A workbench's gate admits only its owner and adds Jupyter's token."""

    async def admit(self, scope: Scope) -> Admission: ...


PathMode = Literal["strip", "keep"]
InsecurePolicy = Literal["Redirect", "Allow", "None"]
INSECURE_POLICIES: tuple[InsecurePolicy, ...] = ("Redirect", "Allow", "None")
PATH_MODES: tuple[PathMode, ...] = ("strip", "keep")


@dataclass(frozen=True)
class RouteOptions:
    """An app's host-based route. The path route ``/apps/{ws}/{app}/`` always exists too.

    ``path`` selects which requests on the app's hostnames reach the app. With ``path_mode``
    ``strip`` (the default) the app sees them as if mounted at ``/`` (the prefix is passed as
    ``SCRIPT_NAME`` / ``X-Forwarded-Prefix`` so its own links work); ``keep`` passes the path
    whole, as OpenShift routes do, for apps that serve under the prefix themselves."""

    hostname: str | None = None
    """A custom hostname, served in addition to ``{app}-{ws}.{apps_domain}``."""
    path: str = "/"
    path_mode: PathMode = "strip"
    insecure_policy: InsecurePolicy | None = None
    """With TLS (edge) on the route: what plain-http requests get. None: no TLS asked."""
    gate: RouteGate | None = None
    """Asked before any request is forwarded (None: everyone passes, as for apps)."""
    path_route: bool = True
    """False: only the hostnames, never ``/apps/{ws}/{app}/`` on the server's own origin."""


@dataclass
class AppTarget:
    """One app as the proxy sees it: the replica set serving it now."""

    key: AppKey
    lock: threading.Lock = field(default_factory=threading.Lock)
    current: ReplicaSet | None = None

    def lease(self) -> ReplicaSet | None:
        """The serving set, counted as having one more request in flight (``end_request``
        when done); reading and counting under one lock is what lets a switch drain safely."""
        with self.lock:
            current = self.current
            if current is not None:
                current.begin_request()
            return current


@dataclass(frozen=True)
class RouteMatch:
    """What a request is for: an app (``target`` None when there is no such app)."""

    name: str
    target: AppTarget | None
    prefix: str
    """The path prefix the app is mounted under (``""`` for host-based routes)."""
    insecure_policy: InsecurePolicy | None = None
    """The app's TLS route policy for plain-http requests (None: the app asked for no TLS)."""
    gate: RouteGate | None = None


def strip_port(host: str) -> str:
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if ":" in host else host


def is_under(path: str, prefix: str) -> bool:
    return prefix == "/" or path == prefix or path.startswith(prefix + "/")


def normalise_route(route: RouteOptions) -> RouteOptions:
    hostname = route.hostname.strip().lower().rstrip(".") if route.hostname else None
    if hostname is not None:
        if not _HOSTNAME.match(hostname) or "." not in hostname:
            raise Invalid(f"route hostname {route.hostname!r} is not a valid DNS name")
        try:
            ipaddress.ip_address(hostname)
        except ValueError:
            pass
        else:
            raise Invalid(f"route hostname {route.hostname!r} is an IP address, not a name")
    path = route.path.strip() or "/"
    if not path.startswith("/") or "//" in path or any(c in path for c in "?#% "):
        raise Invalid(f"route path {route.path!r} must be a plain path starting with '/'")
    if any(segment in (".", "..") for segment in path.split("/")):
        raise Invalid(f"route path {route.path!r} has a '.' or '..' segment: give the plain path")
    if path != "/":
        path = path.rstrip("/")
    return RouteOptions(
        hostname=hostname,
        path=path,
        path_mode=route.path_mode,
        insecure_policy=route.insecure_policy,
        gate=route.gate,
        path_route=route.path_route,
    )

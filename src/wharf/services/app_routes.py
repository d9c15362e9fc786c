"""An app's route as stored: checked whole, so contradictions are refused, not ignored."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from wharf.errors import Invalid
from wharf.runtime.routes import INSECURE_POLICIES, PATH_MODES, RouteOptions, normalise_route

_KEYS = frozenset(
    {"enabled", "hostname", "path", "path_mode", "target_port", "tls", "insecure_policy"}
)


def check_route(
    route: Mapping[str, Any], *, given: Collection[str] = (), serves_https: bool = True
) -> dict[str, Any]:
    """The route to store: ``enabled``, ``hostname``, ``path`` (normalised), ``path_mode``
    (``strip``: the app sees paths under the prefix as if mounted at ``/``; ``keep``: it sees
    them whole) and ``target_port``. ``given`` names the keys the caller set just now: a
    hostname or path given together with ``enabled: false`` is a contradiction."""
    unknown = sorted(set(route) - _KEYS)
    if unknown:
        raise Invalid(f"route has no setting {unknown[0]!r}", field="route")
    enabled = route.get("enabled", True)
    if not isinstance(enabled, bool):
        raise Invalid("route.enabled must be true or false", field="route.enabled")
    if not enabled:
        for key in ("hostname", "path", "target_port"):
            if key in given and route.get(key) not in (None, "", "/"):
                flag = key.replace("_", "-")
                raise Invalid(
                    f"--no-route and --{flag} contradict each other: an app without a route "
                    f"has no {key.replace('_', ' ')}; drop one of them",
                    field=f"route.{key}",
                )
    mode = route.get("path_mode") or "strip"
    if mode not in PATH_MODES:
        raise Invalid(
            f"route path mode {mode!r} is not one of {', '.join(PATH_MODES)}",
            field="route.path_mode",
        )
    port = route.get("target_port")
    if port is not None and (
        not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535
    ):
        raise Invalid(f"target port {port!r} must be a number from 1 to 65535", field="route")
    try:
        normal = normalise_route(RouteOptions(route.get("hostname"), route.get("path") or "/"))
    except Invalid as exc:
        raise Invalid(str(exc), field="route") from None
    checked: dict[str, Any] = {"enabled": enabled, "hostname": None, "path": None}
    if enabled:
        checked["hostname"] = normal.hostname
        checked["path"] = None if normal.path == "/" else normal.path
    checked["path_mode"] = mode
    checked["target_port"] = port
    checked.update(_check_tls(route, serves_https=serves_https and enabled))
    return checked


def _check_tls(route: Mapping[str, Any], *, serves_https: bool) -> dict[str, Any]:
    """``tls: edge`` (TLS ends at Wharf, as OpenShift's edge routes) and what plain http gets:
    ``Redirect`` (308 to https), ``Allow``, or ``None`` (refused; the default, as OpenShift)."""
    tls = route.get("tls")
    policy = route.get("insecure_policy")
    if tls is None:
        if policy is not None:
            raise Invalid("--insecure-policy needs --tls edge", field="route.insecure_policy")
        return {}
    if tls != "edge":
        raise Invalid(f"route tls {tls!r} is not supported: use edge", field="route.tls")
    if policy not in (None, *INSECURE_POLICIES):
        raise Invalid(
            f"insecure policy {policy!r} is not one of {', '.join(INSECURE_POLICIES)}",
            field="route.insecure_policy",
        )
    if not serves_https:
        raise Invalid(
            "this server serves plain http, so a TLS route could not be served: start it "
            "with 'wharf up --tls self-signed' or WHARF_TLS_CERT/WHARF_TLS_KEY, or behind a "
            "TLS-terminating proxy with an https WHARF_PUBLIC_URL",
            field="route.tls",
        )
    return {"tls": "edge", "insecure_policy": policy or "None"}

"""Render a page: one Jinja2 environment (autoescaped), the console's filters, and the
security headers every page carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from wharf.console import views
from wharf.console.context import ConsoleContext
from wharf.store.types import utcnow
from wharf.version import __version__

TEMPLATES = Path(__file__).parent / "templates"
STATIC_PREFIX = "/console/static"
HTMX_VERSION = "2.0.11"
"""The vendored htmx (``static/vendor/README.md`` says where it came from)."""

SECURITY_HEADERS = {
    # No inline script or style anywhere: what runs is the vendored htmx and console.js.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

NAV: list[tuple[str, str]] = [
    ("Topology", "topology"),
    ("Import from Git", "import"),
    ("Batch endpoints", "batch-endpoints"),
    ("Jobs", "jobs"),
    ("Data", "data"),
    ("Models", "models"),
    ("Datastores", "datastores"),
    ("Members", "members"),
    ("Source secrets", "source-secrets"),
    ("Workbenches", "workbenches"),
]
"""The workspace pages in the navigation, as (label, path under ``/w/{ws}/``)."""


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """``2 minutes ago``, ``just now``, ``3 days ago``; ``never`` for None."""
    if moment is None:
        return "never"
    seconds = int(((now or utcnow()) - _aware(moment)).total_seconds())
    if seconds < 0:
        return "in " + _span(-seconds)
    if seconds < 10:
        return "just now"
    return _span(seconds) + " ago"


def duration(value: timedelta | float | int | None) -> str:
    """``45s``, ``2m 5s``, ``1h 3m``; an empty string for None."""
    if value is None:
        return ""
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m"


def size(value: int | None) -> str:
    """``512 B``, ``1.5 KiB``, ``20.0 MiB``."""
    if value is None:
        return ""
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            return f"{int(amount)} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def timestamp(moment: datetime | None) -> str:
    """An exact UTC time for a ``<time>`` title: ``2026-12-02 08:40:00 UTC``."""
    return "" if moment is None else _aware(moment).strftime("%Y-%m-%d %H:%M:%S UTC")


def _span(seconds: int) -> str:
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= length:
            count = seconds // length
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "0 seconds"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def static(path: str) -> str:
    """The URL of a static file, versioned so a new release is never served from cache."""
    return f"{STATIC_PREFIX}/{path}?v={__version__}"


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(ago=ago, duration=duration, bytes=size, timestamp=timestamp)
environment.globals.update(static=static, nav=NAV, htmx_version=HTMX_VERSION)
environment.globals.update(
    build_sentence=views.build_sentence,
    build_message=views.build_message,
    trigger_words=views.trigger_words,
    can_cancel=views.can_cancel,
    ring=views.ring,
    activity=views.activity,
    pods_note=views.pods_note,
    open_url=views.open_url,
    source_link=views.source_link,
)


def render(
    ctx: ConsoleContext | None,
    template: str,
    *,
    status: int = 200,
    api: str | None = None,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    """A page (or an htmx fragment) from ``templates/<template>``; ``api`` is the URL of its
    JSON twin, shown as a link."""
    html = environment.get_template(template).render(ctx=ctx, api=api, **values)
    return HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})

"""Text typed into a form's box read into what the services take: ``KEY=VALUE`` lines, labels."""

from __future__ import annotations

from collections.abc import Mapping

from wharf.errors import Invalid


def parse_env(field: str, text: str) -> dict[str, str]:
    """``KEY=VALUE`` lines (blank lines and ``#`` comments skipped) as a mapping; ``Invalid``
    naming the line and ``field`` otherwise. The services check names and values."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise Invalid(f"line {number} ({line[:40]!r}) is not KEY=VALUE", field=field)
        values[key.strip()] = value
    return values


def format_env(values: Mapping[str, str]) -> str:
    return "".join(f"{key}={value}\n" for key, value in values.items())


def env_patch(field: str, text: str, current: Mapping[str, str]) -> dict[str, str | None]:
    """A merge patch that makes ``current`` exactly what ``text`` lists: set what is there,
    remove (``None``) what is not."""
    wanted = parse_env(field, text)
    patch: dict[str, str | None] = {key: None for key in current if key not in wanted}
    patch.update(wanted)
    return patch


def parse_labels(field: str, text: str) -> dict[str, str]:
    """Labels as ``key=value`` lines or comma-separated pairs."""
    return parse_env(field, text.replace(",", "\n"))

"""What an environment has installed, read from its files without starting Python."""

from __future__ import annotations

import re
from pathlib import Path


def has_package(env_dir: Path, package: str) -> bool:
    """Whether the environment has an importable top-level package of that name."""
    return any(env_dir.glob(f"lib/python*/site-packages/{package}/__init__.py"))


def installed_version(env_dir: Path, distribution: str) -> tuple[int, ...] | None:
    """The release numbers of an installed distribution (``(27, 0, 1)``), or None."""
    for info in env_dir.glob(f"lib/python*/site-packages/{distribution}-*.dist-info"):
        match = re.match(rf"{re.escape(distribution)}-(\d+(?:\.\d+)*)", info.name)
        if match:
            return tuple(int(part) for part in match.group(1).split("."))
    return None

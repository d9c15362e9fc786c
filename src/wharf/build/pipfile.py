"""Turning a ``Pipfile.lock`` into pinned requirements that uv can install."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wharf.errors import Invalid


def _requirement(name: str, entry: dict[str, Any]) -> str:
    extras = entry.get("extras") or []
    spec = f"{name}[{','.join(extras)}]" if extras else name
    if "version" in entry:
        spec += entry["version"]
    elif "git" in entry:
        ref = f"@{entry['ref']}" if entry.get("ref") else ""
        spec += f" @ git+{entry['git']}{ref}"
    elif "path" in entry or "file" in entry:
        raise Invalid(
            f"Pipfile.lock installs {name} from a local path, which Wharf does not support: "
            "list it in requirements.txt instead"
        )
    if entry.get("markers"):
        spec += f" ; {entry['markers']}"
    return spec


def convert_pipfile_lock(path: Path) -> str:
    """The ``default`` packages of a ``Pipfile.lock`` as requirements lines."""
    try:
        lock = json.loads(path.read_text())
    except ValueError as exc:
        raise Invalid(f"{path.name} is not valid JSON: {exc}") from None
    packages = lock.get("default") if isinstance(lock, dict) else None
    if not isinstance(packages, dict):
        raise Invalid(f"{path.name} has no 'default' packages section")
    lines = [_requirement(name, entry) for name, entry in sorted(packages.items())]
    return "\n".join(lines) + "\n"

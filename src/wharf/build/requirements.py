"""Reading requirements files the way pip does, for what decides an environment's content."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from wharf.errors import Invalid

_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s+|=)(?P<path>\S+)$")
_EDITABLE = re.compile(r"^(-e|--editable)(?:\s+|=)(?P<target>\S+)")
# A requirement that names a local folder or file rather than a package on an index.
_LOCAL = re.compile(r"^(\.{1,2}(/|$)|/|file:)")


@dataclass
class RequirementSet:
    """The meaningful lines of a requirements file and of every file it includes."""

    lines: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    local_paths: list[Path] = field(default_factory=list)


def _logical_lines(text: str) -> list[str]:
    """Lines with continuations joined and comments removed, as pip reads them."""
    joined = re.sub(r"\\\r?\n", "", text)
    lines = []
    for raw in joined.splitlines():
        # pip treats '#' as a comment at the start of a line or after whitespace.
        line = re.sub(r"(^|\s+)#.*$", "", raw).strip()
        if line:
            lines.append(line)
    return lines


def read_requirements(path: Path, *, into: RequirementSet | None = None) -> RequirementSet:
    """Every meaningful line of ``path``, following ``-r`` / ``-c`` includes.

    Local folders and files named by requirements (``.``, ``-e ./pkg``, ``file:...``) are
    collected too: an environment that installs them depends on their content.
    """
    found = into if into is not None else RequirementSet()
    resolved = path.resolve()
    if resolved in found.files:
        return found
    if not resolved.is_file():
        raise Invalid(f"requirements file {path} does not exist")
    found.files.append(resolved)
    for line in _logical_lines(resolved.read_text()):
        include = _INCLUDE.match(line)
        if include:
            # The included file's lines follow; only whether it constrains or requires counts.
            found.lines.append("-c" if include.group(1) in ("-c", "--constraint") else "-r")
            read_requirements(resolved.parent / include["path"], into=found)
            continue
        found.lines.append(line)
        editable = _EDITABLE.match(line)
        target = editable["target"] if editable else line
        if _LOCAL.match(target):
            local = target.removeprefix("file://").removeprefix("file:")
            found.local_paths.append((resolved.parent / local).resolve())
    return found

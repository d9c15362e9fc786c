"""The ``.s2i/environment`` file: variables a project sets for its own build and run."""

from __future__ import annotations

import re
from pathlib import Path

from wharf.errors import Invalid

S2I_ENVIRONMENT_FILE = Path(".s2i") / "environment"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def read_s2i_environment(project_dir: Path) -> dict[str, str]:
    """The ``KEY=VALUE`` lines of ``.s2i/environment`` (none when the file is absent).

    As in S2I, blank lines and ``#`` comments are skipped and values are taken literally
    (no quotes are removed, nothing is expanded).
    """
    path = project_dir / S2I_ENVIRONMENT_FILE
    if not path.is_file():
        return {}
    variables: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, equals, value = stripped.partition("=")
        if not equals or not _NAME.fullmatch(name.strip()):
            raise Invalid(f"{S2I_ENVIRONMENT_FILE} line {number} is not NAME=VALUE: {stripped!r}")
        variables[name.strip()] = value
    return variables

"""Builder detection: decide how a source tree is built, or say what was looked for."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from wharf.errors import Invalid

# The files that make a source tree a Python project, in the order S2I's Python builder
# gives them weight.
PYTHON_MARKERS = ("requirements.txt", "pyproject.toml", "setup.py", "Pipfile.lock")


@dataclass(frozen=True)
class PythonProject:
    """A source tree the Python builder can build, and which of its marker files it has."""

    root: Path
    markers: tuple[str, ...]

    builder = "python"

    def has(self, marker: str) -> bool:
        """Whether the project has this marker file (``requirements.txt``, ...)."""
        return marker in self.markers


def detect_builder(path: Path) -> PythonProject:
    """The builder for the source tree at ``path``; ``Invalid`` if none applies."""
    if not path.is_dir():
        raise Invalid(f"{path} is not a folder: give the folder of a model project")
    names = {name for name in PYTHON_MARKERS if (path / name).is_file()}
    return PythonProject(root=path.resolve(), markers=find_markers(names, str(path)))


def find_markers(file_names: Iterable[str], where: str) -> tuple[str, ...]:
    """The Python builder's marker files among ``file_names`` (the files of one folder), in
    the builder's order; ``Invalid`` naming what was looked for when there is none."""
    present = set(file_names)
    markers = tuple(name for name in PYTHON_MARKERS if name in present)
    if not markers:
        looked_for = ", ".join(PYTHON_MARKERS[:-1]) + " or " + PYTHON_MARKERS[-1]
        raise Invalid(
            f"cannot tell how to build {where}: it has no {looked_for} "
            "(a model project lists its packages in requirements.txt)",
            code="no-builder",
        )
    return markers

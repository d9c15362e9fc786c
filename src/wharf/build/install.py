"""What goes into a project's environment, and the fingerprint that names it in the cache.

Only what decides the installed packages feeds the fingerprint: the meaningful lines of the
requirements (comments and blank lines do not count), and the content of local folders that
get installed. A change to the app's own code therefore reuses the environment, unless the
project installs itself as a package (``setup.py`` / ``pyproject.toml``, as S2I does).
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from wharf.build.detect import PythonProject
from wharf.build.pipfile import convert_pipfile_lock
from wharf.build.requirements import read_requirements
from wharf.build.s2i_environment import read_s2i_environment
from wharf.errors import Invalid

# Folders that never belong to what gets installed: VCS data, caches, local environments.
SKIPPED_DIRS = frozenset(
    {".git", ".hg", "__pycache__", ".venv", "venv", ".tox", ".ipynb_checkpoints",
     ".pytest_cache", ".mypy_cache", ".ruff_cache", "node_modules"}
)  # fmt: skip


@dataclass(frozen=True)
class InstallPlan:
    """How to fill a project's environment, and the fingerprint of what it will contain."""

    project: PythonProject
    requirement_files: tuple[Path, ...]
    generated_requirements: str | None
    """Requirements converted from ``Pipfile.lock`` (written next to the environment)."""
    install_project: bool
    """Install the project itself (``pip install .``), as S2I does for setup.py/pyproject."""
    build_env: dict[str, str]
    """``.s2i/environment`` plus the build's own variables, given to the installer."""
    fingerprint: str
    summary: str


def hash_tree(path: Path) -> str:
    """A content hash of a file, or of a folder's files (names and bytes, in sorted order)."""
    digest = hashlib.sha256()
    if path.is_file():
        digest.update(path.read_bytes())
        return digest.hexdigest()
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in sorted(files):
            file = Path(folder) / name
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
            if file.is_symlink():
                digest.update(b"link:" + os.readlink(file).encode())
            elif file.is_file():
                digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def _installs_itself(project: PythonProject, env: Mapping[str, str]) -> str | None:
    """The file that makes S2I install the project as a package, if any."""
    if project.has("setup.py") and not env.get("DISABLE_SETUP_PY_PROCESSING"):
        return "setup.py"
    if project.has("pyproject.toml") and not env.get("DISABLE_PYPROJECT_TOML_PROCESSING"):
        try:
            pyproject = tomllib.loads((project.root / "pyproject.toml").read_text())
        except tomllib.TOMLDecodeError as exc:
            raise Invalid(f"pyproject.toml is not valid TOML: {exc}") from None
        # A pyproject.toml that only configures tools (ruff, pytest) is not a package.
        if "project" in pyproject or "build-system" in pyproject:
            return "pyproject.toml"
    return None


def _feed(digest: hashlib._Hash, label: str, lines: Iterable[str]) -> None:
    digest.update(f"[{label}]\n".encode())
    for line in lines:
        digest.update(line.encode() + b"\n")


def _relative_name(path: Path, root: Path) -> str:
    # Build folders differ from build to build: name local paths relative to the project.
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def plan_install(
    project: PythonProject, *, build_env: Mapping[str, str] | None = None
) -> InstallPlan:
    """Decide what to install for ``project``; ``build_env`` overrides ``.s2i/environment``."""
    env = {**read_s2i_environment(project.root), **(build_env or {})}
    digest = hashlib.sha256()
    requirement_files: list[Path] = []
    generated: str | None = None
    local_paths: list[Path] = []
    sources: list[str] = []
    if project.has("requirements.txt"):
        requirements = read_requirements(project.root / "requirements.txt")
        requirement_files.append(project.root / "requirements.txt")
        _feed(digest, "requirements", requirements.lines)
        local_paths.extend(requirements.local_paths)
        sources.append("requirements.txt")
    elif project.has("Pipfile.lock"):
        generated = convert_pipfile_lock(project.root / "Pipfile.lock")
        _feed(digest, "pipfile", generated.splitlines())
        sources.append("Pipfile.lock")
    package_file = _installs_itself(project, env)
    if package_file:
        local_paths.append(project.root)
        sources.append(f"the project itself ({package_file})")
    for path in sorted(set(local_paths)):
        if not path.exists():
            raise Invalid(f"requirements name {path}, which does not exist")
        _feed(digest, "local", [_relative_name(path, project.root), hash_tree(path)])
    return InstallPlan(
        project=project,
        requirement_files=tuple(requirement_files),
        generated_requirements=generated,
        install_project=package_file is not None,
        build_env=env,
        fingerprint=digest.hexdigest(),
        summary=" + ".join(sources) or "no packages",
    )

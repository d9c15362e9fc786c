"""What one sandboxed process may see: read-only folders, its own writable folders, the network."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SandboxProfile:
    """The filesystem view of one process, on top of the system folders every process gets
    read-only (``/usr``, ``/lib*``, a few ``/etc`` files, the base Python install).

    Paths are seen at the same place inside as outside, so argv, ``cwd`` and the environment
    need no rewriting. Nothing else of the host's filesystem is visible: not the data dir,
    not the database, not other workspaces' folders, not anyone's home."""

    cwd: Path
    """Where the process starts: ``/`` or a folder inside one of those below."""
    read_only: tuple[Path, ...] = ()
    """Folders and files it reads: its environment, its source, its inputs."""
    writable: tuple[Path, ...] = ()
    """Its own working folders (made writable for the sandbox's identity)."""
    network: bool = True
    """Whether it shares the host's network (replicas listen on loopback, builds reach their
    package index, workers reach storage)."""
    rebind: tuple[tuple[Path, Path], ...] = field(default=())
    """(host folder, path seen inside), writable: a private copy shown in another's place."""
    home: Path | None = None
    """``HOME`` inside: one of the writable folders (a workbench's home), else the private
    ``/tmp``."""


def sandbox_env(env: Mapping[str, str]) -> dict[str, str]:
    """The server's own environment without its settings (``WHARF_SECRET_KEY``,
    ``WHARF_DATABASE_URL``, a CLI's ``WHARF_TOKEN``...): what user code may inherit of it."""
    return {
        name: value
        for name, value in env.items()
        if not name.startswith("WHARF_") and name != "DATABASE_URL"
    }

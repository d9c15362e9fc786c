"""The one check that files under a data dir are private to the server's user (0600/0700).

Kept in one place so that a documented exception is written once: the sandbox may need some
folders readable by the identity user code runs as; add such a folder to ``EXCEPTIONS`` with
its reason, never loosen the check elsewhere.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from pathlib import Path

from wharf.config import Settings

SANDBOX_GID: int = Settings.model_fields["sandbox_gid"].default
SANDBOX_GROUP_BITS = 0o050
"""What the sandbox opens a read-only tree to (an environment, a build's source, a job's
input or model): read and enter, for the sandbox's own group only (``grant_read``)."""

EXCEPTIONS: dict[str, tuple[int, str]] = {
    # pattern (relative to the data dir) -> (group/other bits allowed, why)
    "envs/**": (
        0o055,
        "built environments are not secrets and sandboxed user code, running as another "
        "identity, must read them: build/environments.py makes an environment's folder 0755, "
        "and uv installs files from its cache with the cache's modes (0644); never writable",
    ),
    "envs/*/.lock": (
        0o066,
        "uv creates its install lock 0666 whatever the umask; it holds no data, and the data "
        "dir above it is 0700, so no other user can reach it",
    ),
}


def find_open_modes(data_dir: Path, *, sandbox_gid: int = SANDBOX_GID) -> list[str]:
    """Every file or folder under ``data_dir`` (itself included) whose mode gives group or
    others any access beyond a documented exception; links are not followed. A tree the
    sandbox opened to its own group may be read by that group (never written)."""
    found: list[str] = []
    for folder, dirnames, filenames in os.walk(data_dir):
        for path in (Path(folder), *(Path(folder) / name for name in (*dirnames, *filenames))):
            if path != Path(folder) and path.is_dir() and not path.is_symlink():
                continue  # a folder is checked when os.walk enters it
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                continue
            relative = path.relative_to(data_dir).as_posix()
            allowed = SANDBOX_GROUP_BITS if info.st_gid == sandbox_gid else 0
            for pattern, (bits, _) in EXCEPTIONS.items():
                # "*" stays within one folder level; "/**" at the end means the whole tree.
                if pattern.endswith("/**"):
                    matched = relative.startswith(pattern[:-2])
                else:
                    same_depth = relative.count("/") == pattern.count("/")
                    matched = same_depth and fnmatch.fnmatch(relative, pattern)
                if matched:
                    allowed |= bits
            if stat.S_IMODE(info.st_mode) & 0o077 & ~allowed:
                found.append(f"{relative or '.'} {stat.S_IMODE(info.st_mode):04o}")
    return found

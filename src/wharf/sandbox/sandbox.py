"""Whether this server can sandbox user code, found once at start by running bubblewrap."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from wharf.sandbox.bwrap import ENV, SETPRIV, bwrap_argv
from wharf.sandbox.profile import SandboxProfile

SandboxMode = Literal["auto", "required", "off"]
_PROBE_SECONDS = 15.0


class SandboxState(StrEnum):
    ACTIVE = "active"
    """User code runs in bubblewrap."""
    OFF = "off"
    """Switched off by the admin (``WHARF_SANDBOX=off``)."""
    UNAVAILABLE = "unavailable"
    """Wanted, but this machine cannot provide it (tool missing, no namespaces)."""


@dataclass(frozen=True)
class Sandbox:
    """How this server runs user code: in bubblewrap, or (off, unavailable) as itself."""

    state: SandboxState
    detail: str
    """What was found, in words: the tool and identity, or why there is no sandbox."""
    bwrap: str | None = None
    identity: tuple[int, int] | None = None
    """(uid, gid) user code runs as, when the server runs as root."""

    @property
    def active(self) -> bool:
        return self.state is SandboxState.ACTIVE

    def command(self, profile: SandboxProfile, argv: Sequence[str]) -> list[str]:
        """The argv that runs ``argv`` inside ``profile`` (``argv`` itself without a sandbox).

        Also hands the profile's writable folders to the sandbox's identity, so that the
        process can write there and nowhere else."""
        if not self.active or self.bwrap is None:
            return list(argv)
        if self.identity is not None:
            for folder in (*profile.writable, *(source for source, _ in profile.rebind)):
                hand_over(folder, self.identity)
            for path in profile.read_only:
                grant_read(path, self.identity[1])
        return bwrap_argv(self.bwrap, profile, argv, identity=self.identity)

    def describe(self) -> dict[str, Any]:
        """For health checks and people: the state, what was found, who code runs as."""
        uid, gid = self.identity or (os.getuid(), os.getgid())
        return {
            "state": self.state.value,
            "detail": self.detail,
            "tool": self.bwrap,
            "uid": uid if self.active else os.getuid(),
            "gid": gid if self.active else os.getgid(),
        }


NO_SANDBOX = Sandbox(SandboxState.OFF, "no sandbox was asked for")


def hand_over(folder: Path, identity: tuple[int, int]) -> None:
    """Make ``folder`` (and what is in it) the sandbox identity's own.

    Walked through directory descriptors, never following a link: a process that already
    writes there (another worker of the same job) cannot swap a folder for a link and have a
    file elsewhere handed over. What such a process removes meanwhile (a shared uv cache's
    temporary files) is passed over."""
    uid, gid = identity
    os.chown(folder, uid, gid, follow_symlinks=False)
    for _, dirs, files, fd in os.fwalk(folder):
        for name in (*dirs, *files):
            with contextlib.suppress(FileNotFoundError):
                os.chown(name, uid, gid, dir_fd=fd, follow_symlinks=False)


def grant_read(path: Path, gid: int) -> None:
    """Let the sandbox's group read ``path``, a tree that is not changed once made (an
    environment, a build's source, an asset version). A server with a private umask makes
    such trees 0700/0600: they are opened to that group only, never to every user. Done on
    first use; a tree that others or the group can already read is left as it is."""
    try:
        top = path.stat()
    except OSError:
        return  # bwrap reports a missing path itself
    if _readable(top, gid):
        return
    entries = [str(path)]
    if stat.S_ISDIR(top.st_mode):
        for root, dirs, files in os.walk(path):
            entries += [os.path.join(root, name) for name in (*dirs, *files)]
    for entry in entries:
        info = os.lstat(entry)
        if stat.S_ISLNK(info.st_mode) or _readable(info, gid):
            continue
        os.chown(entry, -1, gid, follow_symlinks=False)
        wanted = stat.S_IRGRP
        if stat.S_ISDIR(info.st_mode) or info.st_mode & stat.S_IXUSR:
            wanted |= stat.S_IXGRP
        os.chmod(entry, stat.S_IMODE(info.st_mode) | wanted)


def _readable(info: os.stat_result, gid: int) -> bool:
    """Whether a uid other than the owner, with ``gid``, can read it (and enter a folder)."""
    need_other = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(info.st_mode) else 0)
    need_group = stat.S_IRGRP | (stat.S_IXGRP if stat.S_ISDIR(info.st_mode) else 0)
    if info.st_mode & need_other == need_other:
        return True
    return info.st_gid == gid and info.st_mode & need_group == need_group


@lru_cache(maxsize=8)
def detect_sandbox(mode: SandboxMode, bwrap: str, uid: int, gid: int) -> Sandbox:
    """Find out whether bubblewrap works here, by running ``true`` in a sandbox (once per
    process for the same settings). ``uid``/``gid`` are used when this process is root."""
    if mode == "off":
        return Sandbox(SandboxState.OFF, "switched off (WHARF_SANDBOX=off)")
    found = shutil.which(bwrap)
    if found is None:
        return _unavailable(f"bubblewrap was not found at {bwrap!r}")
    identity = (uid, gid) if os.geteuid() == 0 else None
    needed = [ENV] + ([SETPRIV] if identity else [])
    missing = [tool for tool in needed if not os.access(tool, os.X_OK)]
    if missing:
        return _unavailable(f"{', '.join(missing)} is missing")
    if identity is not None and uid == 0:
        return _unavailable("WHARF_SANDBOX_UID is 0: user code must not run as root")
    candidate = Sandbox(SandboxState.ACTIVE, "", found, identity)
    probe = candidate.command(SandboxProfile(cwd=Path("/")), ["true"])
    try:
        done = subprocess.run(
            probe, capture_output=True, text=True, timeout=_PROBE_SECONDS, start_new_session=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return _unavailable(f"{found} could not be run: {exc}")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return _unavailable(f"{found} does not work here: {last}")
    who = f"uid {uid}, gid {gid}" if identity else f"uid {os.getuid()} in a user namespace"
    return Sandbox(
        SandboxState.ACTIVE, f"bubblewrap ({found}), user code runs as {who}", found, identity
    )


def _unavailable(why: str) -> Sandbox:
    return Sandbox(
        SandboxState.UNAVAILABLE,
        f"{why}: user code runs unconfined, as the server's own user "
        "(install bubblewrap: apt-get install bubblewrap)",
    )

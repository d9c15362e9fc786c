"""The bubblewrap command line for one profile: system folders read-only, the rest invisible.

The chain is ``env --ignore-signal=TERM bwrap ... env --default-signal=TERM [setpriv ...] argv``,
all ``exec``s in one pid, for two reasons bubblewrap itself does not cover:

- Signals. Wharf stops a replica with SIGTERM to its process group so that gunicorn drains.
  bwrap's outer process does not forward signals and dies of SIGTERM, and ``--die-with-parent``
  then SIGKILLs the app before it drained. So the outer process ignores SIGTERM and the app gets
  the default back; the app is in the same process group (no ``--new-session``: every launch
  site starts its process in a new session without a terminal, which is what ``--new-session``
  protects against) and receives the SIGTERM itself. SIGKILL still ends everything.
- Identity. As root, bwrap would map a user namespace's uid to root outside, so root files
  would stay readable. Instead bwrap runs without a user namespace, keeps only CAP_SETUID and
  CAP_SETGID, and ``setpriv`` switches to the sandbox's own uid/gid with no groups: from then
  on the process has no capabilities, and bwrap's no-new-privileges flag keeps it so. As
  another user, bwrap's ``--unshare-user`` keeps the uid and hides the rest.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from wharf.sandbox.profile import SandboxProfile

ENV = "/usr/bin/env"
PRIVATE_TMP = "/tmp"  # noqa: S108 -- a fresh tmpfs of the sandbox's own, not the host's /tmp
SETPRIV = "/usr/bin/setpriv"
_TOP_LEVEL = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What programs need of /etc: name resolution, TLS roots, users, the loader's cache, the time
# zone. Each mount costs bwrap about a millisecond at every start: only what is read.
_ETC = (
    "alternatives", "ca-certificates", "group", "hosts", "ld.so.cache", "localtime",
    "nsswitch.conf", "passwd", "protocols", "resolv.conf", "services", "ssl",
)  # fmt: skip


@lru_cache(maxsize=1)
def system_view() -> tuple[str, ...]:
    """bwrap options for the folders every sandboxed process reads (found once)."""
    options = ["--ro-bind", "/usr", "/usr"]
    for top in _TOP_LEVEL:
        path = Path(top)
        if path.is_symlink():  # merged /usr: keep the link, not a second mount
            options += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            options += ["--ro-bind", top, top]
    options += ["--perms", "0755", "--dir", "/etc"]  # bwrap would make it 0700
    for name in _ETC:
        options += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    # The interpreter every environment links to; only that folder, never its parents.
    base = Path(sys.base_prefix).resolve()
    if not base.is_relative_to("/usr"):
        options += ["--ro-bind", str(base), str(base)]
    return tuple(options)


def _parent_folders(paths: Sequence[Path]) -> list[str]:
    """``--dir`` options, mode 0755, for the folders above each path inside the sandbox."""
    options: list[str] = []
    made: set[Path] = set()
    base = Path(sys.base_prefix).resolve()
    for path in [base, *paths]:
        for parent in reversed(path.parents[:-1]):  # outermost first, "/" left out
            if parent in made or parent == Path(PRIVATE_TMP):
                continue
            if parent.parts[1] in ("usr", "proc", "dev") or str(parent) in _TOP_LEVEL:
                continue
            made.add(parent)
            options += ["--perms", "0755", "--dir", str(parent)]
    return options


def _outermost_first(paths: Sequence[Path]) -> list[Path]:
    """A folder before what lies inside it, so that inner binds are not hidden."""
    return sorted({Path(os.path.abspath(p)) for p in paths}, key=lambda p: len(p.parts))


def bwrap_argv(
    bwrap: str,
    profile: SandboxProfile,
    argv: Sequence[str],
    *,
    identity: tuple[int, int] | None,
) -> list[str]:
    """The argv that runs ``argv`` inside ``profile``; ``identity`` (uid, gid) when Wharf runs
    as root, None to keep the caller's uid in a user namespace of its own."""
    options = [ENV, "--ignore-signal=TERM", bwrap, "--die-with-parent"]
    options += ["--unshare-pid", "--unshare-ipc", "--unshare-uts"]
    if identity is None:
        options += ["--unshare-user"]
    if not profile.network:
        options += ["--unshare-net"]
    # Mounts in order: /tmp first, so that folders under the host's /tmp are bound over it.
    options += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", PRIVATE_TMP]
    writable = set(_outermost_first(profile.writable))
    bound = _outermost_first([*profile.read_only, *profile.writable])
    # bwrap makes the folders leading to a mount point 0700 (root's, as root): open them up,
    # or a sandboxed uid could not reach what it was given.
    options += _parent_folders([*bound, *(seen_at for _, seen_at in profile.rebind)])
    options += system_view()
    for path in bound:
        options += ["--bind" if path in writable else "--ro-bind", str(path), str(path)]
    for source, seen_at in profile.rebind:
        options += ["--bind", str(source), str(seen_at)]
    # HOME outside is a real home folder that is not mounted: point tools at the private /tmp.
    home = str(profile.home) if profile.home is not None else PRIVATE_TMP
    options += ["--setenv", "HOME", home, "--setenv", "TMPDIR", PRIVATE_TMP]
    options += ["--chdir", str(profile.cwd)]
    inner = [ENV, "--default-signal=TERM"]
    if identity is not None:
        uid, gid = identity
        options += ["--cap-add", "CAP_SETUID,CAP_SETGID"]
        inner += [SETPRIV, f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
        inner += ["--inh-caps=-all", "--"]
    return [*options, "--", *inner, *argv]

"""Start a replica's command inside its limits: join its cgroups, set rlimits, die with Wharf.

Run as a script (``python -I -S launcher.py ...``) between Wharf's ``fork`` and the app's
``exec``: it needs only the standard library and replaces itself with the command, so the
replica's pid is the app's. Doing this in the child, rather than with ``preexec_fn``, keeps
``subprocess`` safe in Wharf's threaded server.

    launcher.py --parent PID [--join CGROUP_PROCS_FILE]... [--rlimit-data BYTES] -- ARGV...
"""

from __future__ import annotations

import os
import resource
import signal
import sys
from pathlib import Path

LAUNCHER = Path(__file__)
_PR_SET_PDEATHSIG = 1


def build_launch_argv(
    command: list[str], *, parent: int, join: list[Path], rlimit_data: int | None
) -> list[str]:
    """The argv that runs ``command`` through this launcher under the current interpreter."""
    argv = [sys.executable, "-I", "-S", str(LAUNCHER), "--parent", str(parent)]
    for procs_file in join:
        argv += ["--join", str(procs_file)]
    if rlimit_data is not None:
        argv += ["--rlimit-data", str(rlimit_data)]
    return [*argv, "--", *command]


def _die_with_parent(parent: int) -> None:
    """Ask the kernel for SIGKILL when Wharf goes, so a crashed server leaves no replicas.

    The signal follows the thread that forked us: Wharf keeps that thread alive for as long as
    the replica runs."""
    if sys.platform != "linux":
        return
    import ctypes  # only here: ctypes is slow to import and Linux-only in use

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # Wharf died before prctl took effect
        os._exit(1)


def main(args: list[str]) -> None:
    split = args.index("--")
    options, command = args[:split], args[split + 1 :]
    pairs = list(zip(options[::2], options[1::2], strict=True))
    for name, value in pairs:
        if name == "--parent":
            _die_with_parent(int(value))
    for name, value in pairs:
        if name == "--join":
            # Joining before exec: the app never runs a single instruction outside its limits.
            try:
                with open(value, "w") as procs:
                    procs.write(str(os.getpid()))
            except OSError as exc:
                sys.stderr.write(f"wharf: cannot join the cgroup {value}: {exc.strerror}\n")
                os._exit(126)
        elif name == "--rlimit-data":
            limit = int(value)
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    try:
        os.execvp(command[0], command)  # noqa: S606 -- argv as given, no shell
    except OSError as exc:
        sys.stderr.write(f"wharf: cannot run {command[0]!r}: {exc.strerror}\n")
        os._exit(127)


if __name__ == "__main__":
    main(sys.argv[1:])

"""Process trees from ``/proc``: who is in a replica's session, and how much memory it holds."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

_PROC = Path("/proc")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def list_session_pids(session_id: int) -> list[int]:
    """Live processes whose session is ``session_id`` (a replica's, as it is a session leader).

    A process that started its own session has left; cgroups still catch those."""
    pids = []
    try:
        entries = os.listdir(_PROC)
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            stat = (_PROC / entry / "stat").read_bytes()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields start after the last ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 3 and int(fields[3]) == session_id and fields[0] != b"Z":
            pids.append(int(entry))
    return pids


def read_memory_bytes(pid: int) -> int:
    """Memory one process holds: its proportional share (PSS) when the kernel reports it, so
    that pages a gunicorn master shares with its forked workers count once; else its RSS.
    0 when the process is gone."""
    try:
        for line in (_PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int((_PROC / str(pid) / "statm").read_text().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0


def measure_session_memory(session_id: int) -> int:
    """Memory held by a whole session, in bytes (see ``read_memory_bytes``)."""
    return sum(read_memory_bytes(pid) for pid in list_session_pids(session_id))


def kill_session(session_id: int) -> None:
    """SIGKILL the process group and every process left in the session."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(session_id, signal.SIGKILL)
    for pid in list_session_pids(session_id):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)

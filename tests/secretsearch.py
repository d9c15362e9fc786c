"""Looking for secret values where they must never be: API responses, logs, process command
lines and files under the data dir. One helper for every test that checks a secret stays put.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

import httpx


def _children(pid: int) -> list[int]:
    """The children of ``pid``, from every one of its threads (each lists what it forked)."""
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                found.extend(int(child) for child in (task / "children").read_text().split())
    except (FileNotFoundError, ProcessLookupError):
        pass  # it exited while we looked
    return found


def _command_line(pid: int) -> str:
    """``pid``'s arguments joined by spaces; empty once it has exited (or is a zombie)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return ""
    return raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")


class CommandLines:
    """The command line of every process this test process started, sampled while something
    runs.

    Only this process's own descendants are looked at (``/proc/PID/task/*/children``, walked
    down from ``os.getpid()``), never the rest of a shared machine: another user's processes
    can neither hide a leak here nor make one up. A sample reads a few ``/proc`` files (no
    ``ps`` to start), so samples come every few milliseconds; ``sample()`` also takes one at
    once, for a caller that knows a process of interest is alive right now (the private git
    server calls it while git waits on its answer).
    """

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.samples = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def sample(self) -> None:
        """Add the command lines of this process's descendants as they are now."""
        lines: set[str] = set()
        pending = _children(os.getpid())
        while pending:
            pid = pending.pop()
            lines.add(_command_line(pid))
            pending.extend(_children(pid))
        lines.discard("")
        with self._lock:
            self.seen |= lines
            self.samples += 1

    def _sample_until_stopped(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(0.002)

    def __enter__(self) -> CommandLines:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sample()


class ResponseLog:
    """An httpx event hook that keeps the text of every response a client receives."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        self.texts.append(f"{response.request.method} {response.request.url}\n{response.text}")


def files_under(root: Path) -> dict[str, bytes]:
    """Every regular file below ``root`` (links not followed), by path."""
    return {
        str(path): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink()
    }


def find_secrets(
    secrets: Mapping[str, str],
    *,
    texts: Mapping[str, Iterable[str]] = {},
    files: Mapping[str, bytes] = {},
) -> list[str]:
    """Where each secret value was found: ``"<secret name> in <place>"``, empty when nowhere.

    ``texts`` are named groups of strings (responses, command lines, logs); ``files`` are
    contents by path. A value is looked for as it is and, in files, as UTF-16 too.
    """
    found = []
    for name, value in secrets.items():
        for group, items in texts.items():
            for item in items:
                if value in item:
                    found.append(f"{name} in {group}: {item[:200]!r}")
        needles = (value.encode(), value.encode("utf-16-le"))
        for path, content in files.items():
            if any(needle in content for needle in needles):
                found.append(f"{name} in file {path}")
    return found

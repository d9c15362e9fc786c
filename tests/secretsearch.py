"""Looking for secret values where they must never be: API responses, logs, process command
lines and files under the data dir. One helper for every test that checks a secret stays put.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

import httpx


class CommandLines:
    """Every process's command line (``ps -eww -o args``), sampled while something runs."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            listing = subprocess.run(
                ["ps", "-eww", "-o", "args="], capture_output=True, text=True, check=False
            )
            self.seen.update(listing.stdout.splitlines())
            self.samples += 1
            self._stop.wait(0.02)

    def __enter__(self) -> CommandLines:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


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

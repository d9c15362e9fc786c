"""The job log: one file that the engine and every worker process append to."""

from __future__ import annotations

import time
from pathlib import Path


class JobLog:
    """Appends timestamped engine lines. Workers write their own lines (and whatever the user's
    code prints) to the same file; each line goes out in one ``write`` on a file opened for
    appending, so lines from different processes do not tear each other."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, text: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        lines = text.splitlines() or [""]
        block = "".join(
            f"{stamp} controller INFO {line}\n" if number == 0 else f"    {line}\n"
            for number, line in enumerate(lines)
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as log:
            log.write(block)

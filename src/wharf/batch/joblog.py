"""The job log: one file that the engine and every worker process append to.

Workers write through descriptors they inherited, so the log is rotated by copy-and-truncate
(:func:`wharf.logfiles.rotate_if_large`), checked after each engine line: the engine writes one
for every mini-batch it sends or hears back from, so a chatty worker is caught soon.
"""

from __future__ import annotations

import time
from pathlib import Path

from wharf.logfiles import LogRotation, rotate_if_large


class JobLog:
    """Appends timestamped engine lines. Workers write their own lines (and whatever the user's
    code prints) to the same file; each line goes out in one ``write`` on a file opened for
    appending, so lines from different processes do not tear each other."""

    def __init__(self, path: Path, rotation: LogRotation | None = None) -> None:
        self.path = path
        self.rotation = rotation

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
        rotate_if_large(self.path, self.rotation)

"""For sandbox tests: code that tries what an attacker's code would, and reports what it saw.

``probe_module`` is the text of a ``probe.py`` that user code (a scoring script, an app, a
``setup.py``) imports; ``probe(folder)`` tries to read the server's secrets and another
workspace's files and to write outside its own folder, and returns what happened to each try.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

PROBE = '''\
"""Tries what an attacker's code would; returns what happened, never raises."""
import json
import os

READS = {reads!r}
WRITES = {writes!r}
DATA_DIR = {data_dir!r}


def _outcome(action):
    try:
        action()
        return "done"
    except OSError as exc:
        return type(exc).__name__


def probe(own_folder):
    found = {{"uid": os.getuid(), "gid": os.getgid()}}
    for name, path in READS.items():
        found["read " + name] = _outcome(lambda path=path: open(path, "rb").read(1))
    writes = dict(WRITES, own_folder=os.path.join(own_folder, "pwned.txt"))
    for name, path in writes.items():
        found["write " + name] = _outcome(lambda path=path: open(path, "w").write("pwned"))
    try:  # inside, the data dir holds at most the empty folders leading to mounted ones
        found["list data dir"] = sorted(os.listdir(DATA_DIR))
    except OSError as exc:
        found["list data dir"] = type(exc).__name__
    found["server settings in env"] = sorted(
        name for name in os.environ
        if name in ("WHARF_SECRET_KEY", "WHARF_DATABASE_URL", "WHARF_TOKEN", "DATABASE_URL")
    )
    return found


if __name__ == "__main__":
    print(json.dumps(probe(os.getcwd())))
'''


def probe_module(data_dir: Path, other_workspace_file: Path) -> str:
    """The probe, aimed at this server's data dir and another workspace's file."""
    reads = {
        "secret.key": str(data_dir / "secret.key"),
        "wharf.db": str(data_dir / "wharf.db"),
        "other workspace": str(other_workspace_file),
    }
    writes = {
        "data dir": str(data_dir / "pwned.txt"),
        "other workspace": str(other_workspace_file.parent / "pwned.txt"),
    }
    return PROBE.format(reads=reads, writes=writes, data_dir=str(data_dir))


def assert_confined(found: dict[str, object], *, own_folder_writable: bool = False) -> None:
    """Every read and write outside the process's own view failed; it ran as non-root."""
    attempts = {
        name: outcome for name, outcome in found.items() if name.startswith(("read", "write"))
    }
    assert len(attempts) == 6, found
    for name, outcome in attempts.items():
        if name == "write own_folder" and own_folder_writable:
            continue
        assert outcome != "done", f"{name} succeeded in the sandbox: {found}"
    listed = found["list data dir"]
    assert isinstance(listed, list | str), found
    assert "secret.key" not in listed, found
    assert "wharf.db" not in listed, found
    assert found["server settings in env"] == [], found
    if os.geteuid() == 0:
        assert found["uid"] != 0, found
        assert found["gid"] != 0, found


def require_bubblewrap() -> None:
    """Skip without bubblewrap, except in CI, where a missing sandbox must fail the run."""
    if shutil.which("bwrap") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("bubblewrap is not installed: CI must run the sandbox tests")
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")

"""Running uv: its binary, the environment it runs in, its output streamed to a log."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from uv import find_uv_bin

from wharf.sandbox import NO_SANDBOX, Sandbox, SandboxProfile, sandbox_env

Log = Callable[[str], None]

# S2I builds honour pip's index variables; uv spells them differently.
_PIP_TO_UV = {"PIP_INDEX_URL": "UV_INDEX_URL", "PIP_EXTRA_INDEX_URL": "UV_EXTRA_INDEX_URL"}
# Variables of the caller's own Python environment that must not leak into the app's.
_FOREIGN = ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "PYTHONPATH", "UV_SYSTEM_PYTHON")


@dataclass(frozen=True)
class UvResult:
    """How a uv command ended, and everything it printed."""

    returncode: int
    output: tuple[str, ...]


def uv_environment(
    build_env: Mapping[str, str], base_env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The variables uv runs with: the machine's, the build's, and Wharf's fixed choices."""
    env = sandbox_env(os.environ if base_env is None else base_env)
    for name in _FOREIGN:
        env.pop(name, None)
    env.update(build_env)
    for pip_name, uv_name in _PIP_TO_UV.items():
        if pip_name in build_env and uv_name not in build_env:
            env[uv_name] = build_env[pip_name]
    # Wharf builds with the Python it was given; never fetch another one behind the user's back.
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["NO_COLOR"] = "1"
    return env


def uv_binary() -> Path:
    return Path(find_uv_bin())


def server_uv_cache() -> Path:
    """The uv cache of the server itself: its ``UV_CACHE_DIR``, else uv's own default for the
    server's user. Never a build's variables: a project must not choose which folder its
    sandboxed install may write."""
    configured = os.environ.get("UV_CACHE_DIR")
    if configured:
        return Path(configured).resolve()
    found = subprocess.run(
        [str(uv_binary()), "cache", "dir"],
        env=os.environ,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return Path(found.stdout.strip()).resolve()


def run_uv(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log: Log,
    sandbox: Sandbox = NO_SANDBOX,
    profile: SandboxProfile | None = None,
    groups: ProcessGroups | None = None,
) -> UvResult:
    """Run ``uv args...`` (in ``profile`` when there is a sandbox), passing each line it prints
    to ``log`` as it comes.

    uv and whatever it starts (build backends, a project's ``setup.py``) run in a session of
    their own: when ``log`` raises (a cancel, the server stopping), the whole tree is killed
    before the exception goes on."""
    output: list[str] = []
    argv = sandbox.command(profile or SandboxProfile(cwd=cwd), [str(uv_binary()), *args])
    with subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    ) as process:
        assert process.stdout is not None
        if groups is not None:
            groups.add(process.pid)
        try:
            for raw in process.stdout:
                line = raw.rstrip("\n")
                output.append(line)
                log(line)
        except BaseException:
            kill_process_group(process.pid)
            raise
        finally:
            if groups is not None:
                groups.discard(process.pid)
    return UvResult(returncode=process.returncode, output=tuple(output))


MAX_SUMMARY_LINES = 40
"""A failure's message keeps this many decisive lines; the build log keeps them all."""


class ProcessGroups:
    """The process groups of running installs, so that a stopping server can end them all,
    including an install that prints nothing for minutes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: set[int] = set()

    def add(self, pgid: int) -> None:
        with self._lock:
            self._groups.add(pgid)

    def discard(self, pgid: int) -> None:
        with self._lock:
            self._groups.discard(pgid)

    def kill_all(self) -> None:
        """Kill every running install. Installs started later run: the build runner stops
        claiming first, and a sandboxed install dies with the server (``--die-with-parent``)."""
        with self._lock:
            for pgid in self._groups:
                kill_process_group(pgid)


def kill_process_group(pgid: int) -> None:
    """SIGKILL a session leader's whole group: uv, its build backends, their children."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _message_start(lines: Sequence[str]) -> int | None:
    return next(
        # uv starts its message with "error:" on a pipe and with a cross on a terminal.
        (i for i, line in enumerate(lines) if line.lstrip().startswith(("error:", "\u00d7"))),
        None,
    )


def failure_lines(result: UvResult) -> list[str]:
    """uv's own message: from its first ``error:`` line on, blank lines left out (none when
    it printed no such line)."""
    lines = [line for line in result.output if line.strip()]
    start = _message_start(lines)
    return [] if start is None else lines[start:]


def summarise_failure(result: UvResult) -> str:
    """The resolver's or installer's own message: from its first ``error:`` line on, at most
    ``MAX_SUMMARY_LINES`` of it (a failed source build can print megabytes of compiler
    output after the lines that say what failed)."""
    lines = [line for line in result.output if line.strip()]
    start = _message_start(lines)
    if start is None:
        return "\n".join(lines[-15:]) or f"uv exited with code {result.returncode}"
    decisive = lines[start : start + MAX_SUMMARY_LINES]
    left = len(lines) - start - len(decisive)
    if left > 0:
        decisive.append(f"... and {left} more lines in the build log")
    return "\n".join(decisive)

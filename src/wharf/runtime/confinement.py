"""The limits of one replica run: how they are applied at launch and how breaking them is seen."""

from __future__ import annotations

import time
from pathlib import Path

from wharf.runtime import procfs
from wharf.runtime.cgroups import Cgroup
from wharf.runtime.limits import (
    RSS_WATCH_SECONDS,
    EnforcedLimit,
    EnforcedLimits,
    LimitSupport,
    ResourceLimits,
    format_memory,
)


class Confinement:
    """One run of one replica under its limits: a fresh cgroup, or rlimits plus a watch."""

    def __init__(self, support: LimitSupport, limits: ResourceLimits, name: str) -> None:
        self.limits = limits
        self.enforced = support.enforce(limits)
        self.cgroup: Cgroup | None = None
        self._rlimit_data: int | None = None
        self._watch_memory = False
        self._next_watch = 0.0
        wants_cgroup = limits.memory_bytes is not None or limits.cpu_millicores is not None
        if wants_cgroup and support.parent is not None and not support.prepared:
            self.enforced = _unenforced(limits, "not enforced: cgroups were not prepared")
        elif wants_cgroup and support.parent is not None:
            try:
                self.cgroup = support.parent.create_group(name)
                if limits.memory_bytes is not None and "memory" in self.cgroup.dirs:
                    self.cgroup.limit_memory(limits.memory_bytes)
                if limits.cpu_millicores is not None and "cpu" in self.cgroup.dirs:
                    self.cgroup.limit_cpu(limits.cpu_millicores)
            except OSError as exc:
                self.release()
                self.cgroup = None
                self.enforced = _unenforced(limits, f"not enforced: cgroup setup failed: {exc}")
        elif limits.memory_bytes is not None and support.mechanism == "rlimit":
            self._rlimit_data = limits.memory_bytes
            self._watch_memory = True

    @property
    def join_files(self) -> list[Path]:
        """The launcher writes the replica's pid into these, before it execs the app."""
        return [] if self.cgroup is None else self.cgroup.procs_files

    @property
    def rlimit_data(self) -> int | None:
        return self._rlimit_data

    def detect_memory_breach(self, session_id: int) -> str | None:
        """While the replica runs: a message when it has gone over its memory limit."""
        limit = self.limits.memory_bytes
        if limit is None:
            return None
        if self.cgroup is not None:
            return self._limit_message() if self.cgroup.count_oom_kills() > 0 else None
        if not self._watch_memory or time.monotonic() < self._next_watch:
            return None
        self._next_watch = time.monotonic() + RSS_WATCH_SECONDS
        used = procfs.measure_session_memory(session_id)
        if used > limit:
            return f"{self._limit_message()} (it held {format_memory_rounded(used)})"
        return None

    def explain_exit(self, log_tail: str) -> str | None:
        """After the replica exited on its own: a message when memory was the cause."""
        if self.limits.memory_bytes is None:
            return None
        if self.cgroup is not None:
            return self._limit_message() if self.cgroup.count_oom_kills() > 0 else None
        if self._rlimit_data is not None and "MemoryError" in log_tail:
            return f"{self._limit_message()} (an allocation failed: MemoryError)"
        return None

    def _limit_message(self) -> str:
        return f"exceeded its memory limit of {self.limits.memory}"

    def kill_all(self) -> None:
        if self.cgroup is not None:
            self.cgroup.kill()

    def list_pids(self) -> list[int]:
        return [] if self.cgroup is None else self.cgroup.list_pids()

    def release(self) -> None:
        if self.cgroup is not None:
            self.cgroup.remove()


def _unenforced(limits: ResourceLimits, why: str) -> EnforcedLimits:
    memory = None if limits.memory is None else EnforcedLimit(limits.memory, False, why)
    cpu = None if limits.cpu is None else EnforcedLimit(limits.cpu, False, why)
    return EnforcedLimits(memory=memory, cpu=cpu)


def format_memory_rounded(size: int) -> str:
    """A human figure for a measured size: ``312Mi``, ``1.2Gi``."""
    if size >= 2**30:
        return f"{size / 2**30:.1f}Gi"
    if size >= 2**20:
        return f"{size // 2**20}Mi"
    return format_memory(size)

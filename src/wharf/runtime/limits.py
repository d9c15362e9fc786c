"""Resource limits: Kubernetes quantities in, and a record of what is actually enforced out."""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from wharf.errors import Invalid
from wharf.runtime import cgroups

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?([a-zA-Z]*)$")


def _split_quantity(text: str, what: str) -> tuple[Decimal, str]:
    match = _QUANTITY.match(text.strip())
    if match is None:
        raise Invalid(f"{what} {text!r} is not a quantity (examples: {_EXAMPLES[what]})")
    number, exponent, suffix = match.groups()
    try:
        value = Decimal(number) * (Decimal(10) ** int(exponent or 0))
    except InvalidOperation:
        raise Invalid(f"{what} {text!r} is not a quantity") from None
    return value, suffix


_EXAMPLES = {"memory": "512Mi, 1Gi, 1.5G, 268435456", "cpu": "500m, 1, 0.25, 2"}


def parse_memory(value: str | int) -> int:
    """Bytes in a Kubernetes memory quantity: ``512Mi``, ``1Gi``, ``1.5G``, ``268435456``.

    Fractions of a byte round up, as Kubernetes does. Raises ``Invalid`` naming the value."""
    if isinstance(value, bool):
        raise Invalid(f"memory {value!r} is not a quantity")
    if isinstance(value, int):
        if value <= 0:
            raise Invalid(f"memory {value!r} must be more than zero")
        return value
    number, suffix = _split_quantity(value, "memory")
    if suffix in _BINARY:
        scale = Decimal(_BINARY[suffix])
    elif suffix in _DECIMAL:
        scale = Decimal(_DECIMAL[suffix])
    elif suffix == "":
        scale = Decimal(1)
    else:
        raise Invalid(
            f"memory {value!r} has an unknown unit {suffix!r} "
            "(use Ki, Mi, Gi, Ti or k, M, G, T; plain numbers are bytes)"
        )
    result = math.ceil(number * scale)
    if result <= 0:
        raise Invalid(f"memory {value!r} must be more than zero")
    return result


def parse_cpu(value: str | int | float) -> int:
    """Millicores in a Kubernetes CPU quantity: ``500m``, ``1``, ``0.25``, ``2``.

    Raises ``Invalid`` naming the value; the smallest limit is ``1m``."""
    if isinstance(value, bool):
        raise Invalid(f"cpu {value!r} is not a quantity")
    if isinstance(value, int | float):
        number, suffix = Decimal(str(value)), ""
        if number.is_nan() or number.is_infinite():
            raise Invalid(f"cpu {value!r} is not a quantity")
    else:
        number, suffix = _split_quantity(value, "cpu")
    if suffix == "m":
        millicores = number
    elif suffix == "":
        millicores = number * 1000
    else:
        raise Invalid(f"cpu {value!r} has an unknown unit {suffix!r} (use 500m, or cores: 0.5, 2)")
    if millicores < 1:
        raise Invalid(f"cpu {value!r} is less than the smallest limit, 1m")
    return math.ceil(millicores)


def format_memory(size: int) -> str:
    """The shortest exact binary spelling: 268435456 -> ``256Mi``; 1000 -> ``1000``."""
    for suffix, scale in sorted(_BINARY.items(), key=lambda item: -item[1]):
        if size % scale == 0:
            return f"{size // scale}{suffix}"
    return str(size)


def format_cpu(millicores: int) -> str:
    """``1000`` -> ``1``, ``500`` -> ``500m``."""
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


@dataclass(frozen=True)
class ResourceLimits:
    """What an app asks for, per replica. ``None`` means no limit."""

    memory_bytes: int | None = None
    cpu_millicores: int | None = None

    @classmethod
    def parse(
        cls, *, memory: str | int | None = None, cpu: str | int | float | None = None
    ) -> ResourceLimits:
        """From the user's spellings (``--memory 512Mi --cpu 500m``); raises ``Invalid``."""
        return cls(
            memory_bytes=None if memory is None else parse_memory(memory),
            cpu_millicores=None if cpu is None else parse_cpu(cpu),
        )

    @property
    def memory(self) -> str | None:
        return None if self.memory_bytes is None else format_memory(self.memory_bytes)

    @property
    def cpu(self) -> str | None:
        return None if self.cpu_millicores is None else format_cpu(self.cpu_millicores)


@dataclass(frozen=True)
class EnforcedLimit:
    """One requested limit and whether, and how, this machine enforces it."""

    requested: str
    """The limit as the user would write it: ``256Mi``, ``500m``."""
    enforced: bool
    how: str
    """The mechanism (``cgroup v2 memory.max``) or, when not enforced, why not."""


@dataclass(frozen=True)
class EnforcedLimits:
    """What a replica actually runs under; ``None`` where no limit was asked for."""

    memory: EnforcedLimit | None = None
    cpu: EnforcedLimit | None = None


RSS_WATCH_SECONDS = 0.5
_RLIMIT_MEMORY = (
    f"RLIMIT_DATA on each process, and the replica's resident memory checked every "
    f"{RSS_WATCH_SECONDS} s (over the limit: the replica is killed)"
)
_NO_CPU_WITHOUT_CGROUPS = (
    "not enforced: CPU limits need a writable cgroup with the cpu controller "
    "(RLIMIT_CPU caps CPU seconds in total, not a rate, so it is not used)"
)


@dataclass(frozen=True)
class LimitSupport:
    """What this machine lets Wharf enforce, found by looking at it rather than assumed."""

    mechanism: Literal["cgroup2", "cgroup1", "rlimit", "none"]
    memory: str | None
    """How memory limits are enforced, or ``None`` when they cannot be."""
    cpu: str | None
    """How CPU limits are enforced, or ``None`` when they cannot be."""
    detail: str
    """What was looked at and found, for people reading the status or the docs."""
    parent: cgroups.CgroupParent | None = field(default=None, compare=False, repr=False)
    prepared: bool = False
    """Whether ``parent`` is ready for replica groups (see ``prepare_limit_support``)."""

    def enforce(self, limits: ResourceLimits) -> EnforcedLimits:
        """The record of what a replica asking for ``limits`` actually runs under."""
        memory = cpu = None
        if limits.memory is not None:
            memory = EnforcedLimit(
                limits.memory,
                self.memory is not None,
                self.memory or f"not enforced: {self.detail}",
            )
        if limits.cpu is not None:
            cpu = EnforcedLimit(
                limits.cpu, self.cpu is not None, self.cpu or _NO_CPU_WITHOUT_CGROUPS
            )
        return EnforcedLimits(memory=memory, cpu=cpu)


def _from_parent(parent: cgroups.CgroupParent, detail: str, *, prepared: bool) -> LimitSupport:
    version = parent.version
    if version == 2:
        memory_file, cpu_file = "memory.max", "cpu.max"
    else:
        memory_file, cpu_file = "memory.limit_in_bytes", "cpu.cfs_quota_us"
    controllers = parent.controllers
    return LimitSupport(
        mechanism="cgroup2" if version == 2 else "cgroup1",
        memory=f"cgroup v{version} {memory_file}" if "memory" in controllers else None,
        cpu=f"cgroup v{version} {cpu_file}" if "cpu" in controllers else None,
        detail=detail,
        parent=parent,
        prepared=prepared,
    )


def rlimit_support(detail: str) -> LimitSupport:
    """Limits without cgroups: memory by rlimits and a watch, CPU not at all. ``detail`` says
    why cgroups are not used (tests also use this to exercise the fallback on purpose)."""
    if sys.platform != "linux":
        return LimitSupport("none", None, None, f"{detail}; rlimits are only relied on on Linux")
    return LimitSupport("rlimit", _RLIMIT_MEMORY, None, detail)


def detect_limit_support(proc_self: Path = Path("/proc/self")) -> LimitSupport:
    """Look at this machine: cgroup v2 when it is writable with the memory controller, else
    cgroup v1 (writable ``memory``/``cpu`` trees), else rlimits.

    Read-only apart from making and removing one empty probe group; nothing is moved."""
    try:
        mounts = cgroups.read_cgroup_mounts((proc_self / "mountinfo").read_text())
        own = cgroups.read_own_cgroups((proc_self / "cgroup").read_text())
    except OSError:
        return rlimit_support("no cgroups here (/proc/self/cgroup is not readable)")
    notes = []
    unified = next((m for m in mounts if m.version == 2), None)
    if unified is not None and "" in own:
        parent, note = cgroups.find_v2_parent(unified, own[""])
        if parent is not None:
            return _from_parent(parent, note, prepared=False)
        notes.append(note)
    else:
        notes.append("no cgroup v2 tree")
    parent, note = cgroups.find_v1_parent(mounts, own)
    if parent is not None:
        return _from_parent(parent, note, prepared=False)
    notes.append(note)
    return rlimit_support("; ".join(notes))


def prepare_limit_support(support: LimitSupport) -> LimitSupport:
    """Make the group replicas go under (cgroup v2 may move this process to a leaf first).

    Falls back to rlimits, saying why, when that is refused."""
    if support.parent is None or support.prepared:
        return support
    if support.parent.version == 2:
        parent, note = cgroups.prepare_v2_parent(support.parent)
    else:
        parent, note = cgroups.prepare_v1_parent(support.parent)
    if parent is None:
        return rlimit_support(note)
    return _from_parent(parent, note, prepared=True)

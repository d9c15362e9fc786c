"""Linux control groups for replicas: find a tree Wharf may write to, make one group per replica.

Two layouts exist in the wild and both are handled:

- cgroup v2 (one unified tree). A group can only hand controllers to its children when it holds
  no processes itself, so Wharf moves its own process into a ``wharf-server`` leaf of the cgroup
  it was started in (as systemd, containerd and kind do) — but only when that cgroup holds
  nothing but Wharf; anything else there is left alone and limits fall back to rlimits.
- cgroup v1 (one tree per controller, still found on older hosts and in some sandboxes). Groups
  are made under Wharf's own group in the ``memory`` and ``cpu`` trees.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
from dataclasses import dataclass, field
from pathlib import Path

CPU_PERIOD_US = 100_000
_MIN_QUOTA_US = 1_000  # the kernel refuses quotas under 1 ms


@dataclass(frozen=True)
class CgroupMount:
    """One line of ``/proc/self/mountinfo`` that mounts a cgroup tree."""

    mount_point: Path
    root: str
    version: int
    controllers: frozenset[str]


def read_cgroup_mounts(mountinfo: str) -> list[CgroupMount]:
    """The cgroup mounts in ``/proc/self/mountinfo`` text."""
    mounts = []
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        options = set(tail[2].split(","))
        version = 2 if tail[0] == "cgroup2" else 1
        controllers = frozenset(options & {"memory", "cpu"}) if version == 1 else frozenset()
        mount_point = Path(fields[4].replace("\\040", " "))
        mounts.append(CgroupMount(mount_point, fields[3], version, controllers))
    return mounts


def read_own_cgroups(proc_cgroup: str) -> dict[str, str]:
    """Controller -> this process' cgroup path, from ``/proc/self/cgroup`` text.

    The unified (v2) tree is under the key ``""``."""
    paths: dict[str, str] = {}
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            paths[""] = path
        for controller in controllers.split(","):
            if controller:
                paths[controller] = path
    return paths


def locate_group(mount: CgroupMount, path: str) -> Path:
    """The directory of cgroup ``path`` under ``mount`` (whose own root may not be ``/``)."""
    if mount.root != "/" and path.startswith(mount.root):
        path = path[len(mount.root) :]
    return mount.mount_point / path.lstrip("/")


def _read_int_field(path: Path, key: str) -> int:
    """``key N`` lines, as in ``memory.events`` and ``memory.oom_control``; 0 when absent."""
    try:
        text = path.read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0


def _read_pids(procs_file: Path) -> list[int]:
    try:
        return [int(line) for line in procs_file.read_text().split()]
    except (OSError, ValueError):
        return []


@dataclass
class Cgroup:
    """One replica run's group: in one directory (v2) or one per controller (v1)."""

    version: int
    dirs: dict[str, Path]
    """controller -> directory; v2 has one directory under every key."""

    def _unique_dirs(self) -> list[Path]:
        return list(dict.fromkeys(self.dirs.values()))

    @property
    def procs_files(self) -> list[Path]:
        """Files a process writes its pid to, to join this group (all of them)."""
        return [directory / "cgroup.procs" for directory in self._unique_dirs()]

    def limit_memory(self, limit: int) -> None:
        directory = self.dirs["memory"]
        if self.version == 2:
            (directory / "memory.max").write_text(str(limit))
            # The whole replica dies together, as one container would: a gunicorn master
            # left without its worker would look alive while serving nothing.
            _write_if_present(directory / "memory.oom.group", "1")
            _write_if_present(directory / "memory.swap.max", "0")
        else:
            (directory / "memory.limit_in_bytes").write_text(str(limit))
            _write_if_present(directory / "memory.memsw.limit_in_bytes", str(limit))

    def limit_cpu(self, millicores: int) -> None:
        quota = max(_MIN_QUOTA_US, millicores * CPU_PERIOD_US // 1000)
        directory = self.dirs["cpu"]
        if self.version == 2:
            (directory / "cpu.max").write_text(f"{quota} {CPU_PERIOD_US}")
        else:
            (directory / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
            (directory / "cpu.cfs_quota_us").write_text(str(quota))

    def count_oom_kills(self) -> int:
        """How many processes the kernel killed here for exceeding the memory limit."""
        directory = self.dirs.get("memory")
        if directory is None:
            return 0
        if self.version == 2:
            return _read_int_field(directory / "memory.events", "oom_kill")
        return _read_int_field(directory / "memory.oom_control", "oom_kill")

    def list_pids(self) -> list[int]:
        pids: list[int] = []
        for procs in self.procs_files:
            pids.extend(pid for pid in _read_pids(procs) if pid not in pids)
        return pids

    def kill(self) -> None:
        """SIGKILL everything in the group, including processes that left the session."""
        if self.version == 2 and _write_if_present(self.dirs["memory"] / "cgroup.kill", "1"):
            return
        for pid in self.list_pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def remove(self) -> None:
        """Remove the directories; a group that still holds processes is left in place."""
        for directory in self._unique_dirs():
            with contextlib.suppress(OSError):
                directory.rmdir()


def _write_if_present(path: Path, value: str) -> bool:
    try:
        path.write_text(value)
    except OSError:
        return False
    return True


@dataclass
class CgroupParent:
    """Where this Wharf process creates replica groups, with the controllers it can use there."""

    version: int
    dirs: dict[str, Path]
    """controller -> parent directory (``memory`` and/or ``cpu``)."""
    created: list[Path] = field(default_factory=list)

    @property
    def controllers(self) -> frozenset[str]:
        return frozenset(self.dirs)

    def create_group(self, name: str) -> Cgroup:
        """A fresh group named ``name`` (made unique) with every usable controller."""
        unique = f"{name}-{secrets.token_hex(3)}"
        dirs: dict[str, Path] = {}
        made: dict[Path, Path] = {}
        try:
            for controller, parent in self.dirs.items():
                if parent not in made:
                    (parent / unique).mkdir()
                    made[parent] = parent / unique
                dirs[controller] = made[parent]
        except OSError:
            for directory in made.values():
                with contextlib.suppress(OSError):
                    directory.rmdir()
            raise
        return Cgroup(self.version, dirs)

    def remove(self) -> None:
        """Remove the parent directories Wharf made (only empty ones go)."""
        for directory in reversed(self.created):
            with contextlib.suppress(OSError):
                directory.rmdir()


def _remove_stale_groups(directory: Path) -> None:
    """Remove empty ``wharf-replicas-<pid>-*`` groups that a Wharf killed outright left."""
    for group in directory.glob("wharf-replicas-*-*"):
        pid = group.name.split("-")[2]
        if not pid.isdigit() or int(pid) == os.getpid() or Path(f"/proc/{pid}").exists():
            continue
        for child in group.iterdir():
            if child.is_dir():
                with contextlib.suppress(OSError):
                    child.rmdir()
        with contextlib.suppress(OSError):
            group.rmdir()


def _probe_writable(directory: Path) -> str | None:
    """``None`` when a child group can be made and removed here, else why not."""
    probe = directory / f"wharf-probe-{os.getpid()}-{secrets.token_hex(2)}"
    try:
        probe.mkdir()
    except OSError as exc:
        return f"cannot create a cgroup in {directory}: {exc.strerror}"
    with contextlib.suppress(OSError):
        probe.rmdir()
    return None


def find_v2_parent(mount: CgroupMount, own_path: str) -> tuple[CgroupParent | None, str]:
    """Check the unified tree; returns (a parent to prepare, or None) and what was found."""
    own = locate_group(mount, own_path)
    try:
        available = set((own / "cgroup.controllers").read_text().split())
    except OSError as exc:
        return None, f"cgroup v2 at {own} is not readable: {exc.strerror}"
    wanted = available & {"memory", "cpu"}
    if "memory" not in wanted:
        offered = ", ".join(sorted(available)) or "none"
        return None, f"cgroup v2 at {own} offers no memory controller (controllers: {offered})"
    problem = _probe_writable(own)
    if problem:
        return None, problem
    return CgroupParent(2, dict.fromkeys(sorted(wanted), own)), f"cgroup v2 at {own}"


def prepare_v2_parent(candidate: CgroupParent) -> tuple[CgroupParent | None, str]:
    """Make ``<own>/wharf-replicas-*`` with controllers enabled, moving Wharf to a leaf if needed.

    Only done when Wharf's cgroup holds this process alone: other processes there are not ours
    to move. Returns (the usable parent, or None) and what happened."""
    own = next(iter(candidate.dirs.values()))
    wanted = sorted(candidate.controllers)
    try:
        enabled = set((own / "cgroup.subtree_control").read_text().split())
    except OSError as exc:
        return None, f"cgroup v2 at {own} is not readable: {exc.strerror}"
    if not set(wanted) <= enabled:
        residents = _read_pids(own / "cgroup.procs")
        others = [pid for pid in residents if pid != os.getpid()]
        if others:
            return None, (
                f"cgroup v2 at {own} also holds other processes ({len(others)}), so its "
                "controllers cannot be handed to replicas; run Wharf in a cgroup of its own "
                "(e.g. a systemd unit with Delegate=yes)"
            )
        try:
            if residents:
                leaf = own / "wharf-server"
                leaf.mkdir(exist_ok=True)
                (leaf / "cgroup.procs").write_text(str(os.getpid()))
            (own / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in wanted))
        except OSError as exc:
            return None, f"cannot enable {', '.join(wanted)} in cgroup v2 at {own}: {exc.strerror}"
    _remove_stale_groups(own)
    base = own / f"wharf-replicas-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        base.mkdir()
        (base / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in wanted))
    except OSError as exc:
        with contextlib.suppress(OSError):
            base.rmdir()
        return None, f"cannot prepare {base}: {exc.strerror}"
    return CgroupParent(2, dict.fromkeys(wanted, base), created=[base]), f"cgroup v2 at {base}"


def find_v1_parent(
    mounts: list[CgroupMount], own: dict[str, str]
) -> tuple[CgroupParent | None, str]:
    """Check the per-controller (v1) trees for writable ``memory`` and ``cpu`` groups."""
    dirs: dict[str, Path] = {}
    notes = []
    for controller in ("memory", "cpu"):
        mount = next((m for m in mounts if m.version == 1 and controller in m.controllers), None)
        if mount is None or controller not in own:
            notes.append(f"no cgroup v1 {controller} tree")
            continue
        directory = locate_group(mount, own[controller])
        problem = _probe_writable(directory)
        if problem:
            notes.append(problem)
        else:
            dirs[controller] = directory
    if not dirs:
        return None, "; ".join(notes)
    found = ", ".join(f"{c} at {d}" for c, d in dirs.items())
    return CgroupParent(1, dirs), f"cgroup v1 ({found})"


def prepare_v1_parent(candidate: CgroupParent) -> tuple[CgroupParent | None, str]:
    """Make a ``wharf-replicas-*`` group in each v1 tree."""
    name = f"wharf-replicas-{os.getpid()}-{secrets.token_hex(3)}"
    dirs: dict[str, Path] = {}
    created: list[Path] = []
    try:
        for controller, parent in candidate.dirs.items():
            _remove_stale_groups(parent)
            dirs[controller] = parent / name
            dirs[controller].mkdir()
            created.append(dirs[controller])
            if controller == "memory":
                # Children must be charged to this group, or its own accounting means nothing.
                _write_if_present(dirs[controller] / "memory.use_hierarchy", "1")
    except OSError as exc:
        for directory in created:
            with contextlib.suppress(OSError):
                directory.rmdir()
        return None, f"cannot prepare cgroup v1 groups: {exc.strerror}"
    found = ", ".join(f"{c} at {d}" for c, d in dirs.items())
    return CgroupParent(1, dirs, created=created), f"cgroup v1 ({found})"

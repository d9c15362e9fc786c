"""Resource limits: Kubernetes quantities, and what a machine's cgroups let Wharf enforce."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wharf.errors import Invalid
from wharf.runtime.confinement import Confinement
from wharf.runtime.limits import (
    ResourceLimits,
    detect_limit_support,
    format_cpu,
    format_memory,
    parse_cpu,
    parse_memory,
    prepare_limit_support,
    rlimit_support,
)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512Mi", 512 * 2**20),
        ("1Gi", 2**30),
        ("1.5Gi", 3 * 2**29),
        ("1G", 10**9),
        ("128k", 128_000),
        ("268435456", 268435456),
        ("1e3", 1000),
        ("0.5Ki", 512),
        (4096, 4096),
    ],
)
def test_memory_quantities(text: str | int, size: int) -> None:
    assert parse_memory(text) == size


@pytest.mark.parametrize(
    ("text", "millicores"),
    [("500m", 500), ("1", 1000), ("0.25", 250), ("2", 2000), ("1.5", 1500), (2, 2000), ("1m", 1)],
)
def test_cpu_quantities(text: str | int, millicores: int) -> None:
    assert parse_cpu(text) == millicores


@pytest.mark.parametrize("text", ["", "lots", "512MB", "-1Gi", "0", "1Zi", "Mi", "1 Gi x", "0.0"])
def test_bad_memory_names_the_value(text: str) -> None:
    with pytest.raises(Invalid) as raised:
        parse_memory(text)
    assert repr(text) in raised.value.detail


@pytest.mark.parametrize("text", ["", "half", "500u", "-1", "0", "0.0001", "1Gi"])
def test_bad_cpu_names_the_value(text: str) -> None:
    with pytest.raises(Invalid) as raised:
        parse_cpu(text)
    assert repr(text) in raised.value.detail


def test_limits_read_back_as_written() -> None:
    limits = ResourceLimits.parse(memory="256Mi", cpu="500m")
    assert (limits.memory, limits.cpu) == ("256Mi", "500m")
    assert format_memory(10**9) == "1000000000"
    assert format_cpu(2000) == "2"


def _fake_machine(tmp_path: Path, *, v2_controllers: str, v1: bool, residents: str) -> Path:
    """A /proc/self and /sys/fs/cgroup look-alike: plain folders and files."""
    proc = tmp_path / "proc"
    proc.mkdir()
    unified = tmp_path / "cg" / "unified"
    own = unified / "wharf.service"
    own.mkdir(parents=True)
    (own / "cgroup.controllers").write_text(v2_controllers)
    (own / "cgroup.subtree_control").write_text("")
    (own / "cgroup.procs").write_text(residents)
    mounts = [f"41 31 0:38 / {unified} rw,relatime - cgroup2 cgroup2 rw"]
    cgroup = ["0::/wharf.service"]
    if v1:
        for number, controller in enumerate(("memory", "cpu"), start=2):
            (tmp_path / "cg" / controller / "sandbox").mkdir(parents=True)
            mounts.append(
                f"3{number} 31 0:3{number} / {tmp_path / 'cg' / controller} rw - cgroup cgroup "
                f"rw,{controller}"
            )
            cgroup.append(f"{number}:{controller}:/sandbox")
    (proc / "mountinfo").write_text("\n".join(mounts) + "\n")
    (proc / "cgroup").write_text("\n".join(cgroup) + "\n")
    return proc


def test_cgroup_v2_is_prepared_by_moving_wharf_to_a_leaf(tmp_path: Path) -> None:
    proc = _fake_machine(tmp_path, v2_controllers="cpu memory pids", v1=False, residents="")
    own = tmp_path / "cg" / "unified" / "wharf.service"
    (own / "cgroup.procs").write_text(f"{os.getpid()}\n")
    found = detect_limit_support(proc)
    assert (found.mechanism, found.memory, found.cpu) == (
        "cgroup2",
        "cgroup v2 memory.max",
        "cgroup v2 cpu.max",
    )
    assert not found.prepared
    assert not (own / "wharf-server").exists(), "detection must not move anything"

    prepared = prepare_limit_support(found)
    assert prepared.prepared
    assert prepared.parent is not None
    assert (own / "wharf-server" / "cgroup.procs").read_text() == str(os.getpid())
    assert (own / "cgroup.subtree_control").read_text() == "+cpu +memory"

    limits = ResourceLimits.parse(memory="256Mi", cpu="500m")
    confinement = Confinement(prepared, limits, "default-hello-1-0")
    assert confinement.cgroup is not None
    group = confinement.cgroup.dirs["memory"]
    assert (group / "memory.max").read_text() == str(256 * 2**20)
    assert (group / "memory.oom.group").read_text() == "1"
    assert (group / "cpu.max").read_text() == "50000 100000"
    assert confinement.join_files == [group / "cgroup.procs"]
    assert confinement.rlimit_data is None
    (group / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert confinement.detect_memory_breach(os.getpid()) == "exceeded its memory limit of 256Mi"
    assert confinement.enforced.memory is not None
    assert confinement.enforced.memory.enforced
    assert confinement.enforced.cpu is not None
    assert confinement.enforced.cpu.enforced


def test_cgroup_v2_shared_with_other_processes_falls_back_to_rlimits(tmp_path: Path) -> None:
    proc = _fake_machine(tmp_path, v2_controllers="cpu memory", v1=False, residents="1\n2\n")
    prepared = prepare_limit_support(detect_limit_support(proc))
    assert prepared.mechanism == "rlimit"
    assert "also holds other processes" in prepared.detail
    assert prepared.cpu is None


def test_hybrid_host_uses_cgroup_v1_when_v2_has_no_memory_controller(tmp_path: Path) -> None:
    """The layout of the machine this was written on: v2 mounted beside v1, hugetlb only."""
    proc = _fake_machine(tmp_path, v2_controllers="hugetlb", v1=True, residents="")
    found = detect_limit_support(proc)
    assert found.mechanism == "cgroup1"
    assert found.memory == "cgroup v1 memory.limit_in_bytes"
    assert found.cpu == "cgroup v1 cpu.cfs_quota_us"
    assert "offers no memory controller" not in found.detail  # the v1 result is what counts
    prepared = prepare_limit_support(found)
    assert prepared.parent is not None
    confinement = Confinement(prepared, ResourceLimits.parse(memory="1Gi", cpu="2"), "a-b-1-0")
    assert confinement.cgroup is not None
    memory_dir, cpu_dir = confinement.cgroup.dirs["memory"], confinement.cgroup.dirs["cpu"]
    assert (memory_dir / "memory.limit_in_bytes").read_text() == str(2**30)
    assert (cpu_dir / "cpu.cfs_quota_us").read_text() == "200000"
    assert len(confinement.join_files) == 2


def test_no_usable_cgroup_means_rlimits_and_no_cpu_limit(tmp_path: Path) -> None:
    proc = _fake_machine(tmp_path, v2_controllers="hugetlb", v1=False, residents="")
    found = detect_limit_support(proc)
    assert found.mechanism == "rlimit"
    assert "offers no memory controller (controllers: hugetlb)" in found.detail
    enforced = found.enforce(ResourceLimits.parse(memory="256Mi", cpu="500m"))
    assert enforced.memory is not None
    assert enforced.memory.enforced
    assert "RLIMIT_DATA" in enforced.memory.how
    assert enforced.cpu is not None
    assert not enforced.cpu.enforced
    assert enforced.cpu.how.startswith("not enforced: CPU limits need a writable cgroup")


def test_rlimit_confinement_sets_rlimit_data_and_explains_memory_errors() -> None:
    limits = ResourceLimits.parse(memory="128Mi")
    confinement = Confinement(rlimit_support("forced by the test"), limits, "x")
    assert confinement.rlimit_data == 128 * 2**20
    assert confinement.join_files == []
    assert confinement.explain_exit("Traceback ...\nMemoryError\n") == (
        "exceeded its memory limit of 128Mi (an allocation failed: MemoryError)"
    )
    assert confinement.explain_exit("ValueError: nope") is None


def test_no_limits_asked_means_nothing_recorded() -> None:
    enforced = rlimit_support("x").enforce(ResourceLimits())
    assert enforced.memory is None
    assert enforced.cpu is None


def test_this_machine_is_detected_without_error() -> None:
    found = detect_limit_support()
    assert found.mechanism in ("cgroup2", "cgroup1", "rlimit", "none")
    assert found.detail

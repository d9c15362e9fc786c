"""Uploading a 1 GiB folder with ``wharf data create``: the CLI's peak memory, and throughput.

Writes 16 files of 64 MiB (1 GiB) of random bytes, starts a real ``wharf up``, then runs
``wharf data create --path FOLDER`` as a child and reads its peak resident memory from
``wait4``'s rusage. The goal is under 200 MiB: files are streamed in 1 MiB chunks.
Set ``WHARF_BENCH_UPLOAD_MIB`` to change the size.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from bench.server import WHARF, running_wharf


def _write_folder(folder: Path, total_mib: int) -> None:
    folder.mkdir()
    per_file = 64
    chunk = os.urandom(1024 * 1024)
    for index in range(max(1, total_mib // per_file)):
        with (folder / f"part-{index:03}.bin").open("wb") as handle:
            for _ in range(min(per_file, total_mib)):
                handle.write(chunk)


def main() -> None:
    total_mib = int(os.environ.get("WHARF_BENCH_UPLOAD_MIB", "1024"))
    with running_wharf() as server:
        folder = server.tmp / "big"
        _write_folder(folder, total_mib)
        size = sum(p.stat().st_size for p in folder.iterdir())
        started = time.perf_counter()
        cli = subprocess.Popen(
            [WHARF, "data", "create", "--name", "big", "--path", str(folder)],
            env=server.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(cli.pid, 0)
        elapsed = time.perf_counter() - started
        cli.returncode = os.waitstatus_to_exitcode(status)
        server_rss = _rss_mib(server.process.pid)
    peak_mib = usage.ru_maxrss / 1024
    print(
        f"uploaded {size / 2**30:.2f} GiB in {elapsed:.1f} s "
        f"({size / 2**20 / elapsed:.0f} MiB/s), exit code {cli.returncode}"
    )
    print(f"CLI peak resident memory: {peak_mib:.0f} MiB (goal < 200 MiB)")
    print(f"server resident memory after the upload: {server_rss:.0f} MiB")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    main()

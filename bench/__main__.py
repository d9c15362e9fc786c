"""Run every ``bench/bench_*.py`` (or those named on the command line) and print their reports."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    folder = Path(__file__).parent
    names = argv or sorted(p.stem for p in folder.glob("bench_*.py"))
    failed = 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"\n=== {name}: {(module.__doc__ or '').strip().splitlines()[0]}", flush=True)
        try:
            module.main()
        except Exception as exc:  # one broken bench must not hide the others' numbers
            failed += 1
            print(f"!!! {name} failed: {exc.__class__.__name__}: {exc}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""An installer failure's message: the decisive lines, not megabytes of compiler output."""

from __future__ import annotations

from wharf.build.uv import MAX_SUMMARY_LINES, UvResult, summarise_failure


def test_a_huge_failure_keeps_its_first_decisive_lines() -> None:
    output = (
        "Resolved 12 packages in 40ms",
        "  \u00d7 Failed to build `numpy==1.19.0`",
        "  ├─▶ The build backend returned an error",
        "  ╰─▶ Call to `setuptools.build_meta.build_wheel` failed (exit status: 1)",
        *(f"      [stderr] compiler line {n}" for n in range(5000)),
    )
    summary = summarise_failure(UvResult(1, output)).splitlines()
    assert summary[0] == "  \u00d7 Failed to build `numpy==1.19.0`"
    assert len(summary) == MAX_SUMMARY_LINES + 1
    assert summary[-1] == "... and 4963 more lines in the build log"


def test_a_short_failure_is_kept_whole() -> None:
    output = ("Resolving...", "error: No solution found", "  flaskk does not exist")
    assert (
        summarise_failure(UvResult(1, output))
        == "error: No solution found\n  flaskk does not exist"
    )

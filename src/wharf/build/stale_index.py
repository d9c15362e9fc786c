"""A uv install that found no version because uv's cached index page may be stale, retried once.

uv keeps the index's "simple" pages in its cache: a page cached before a release (or while a
mirror lagged) lists no such version, and ``uv pip install x==2`` fails to resolve although
the index has it now. One retry with ``--refresh-package x`` asks the index afresh for just
those pages; any other failure, and a version the index really lacks, fails as it did.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from wharf.build.uv import Log, UvResult, failure_lines

_NAME = r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)"
# How uv's resolver words it: "there is no version of x==2.0", "there are no versions of x",
# and, for a range, "only x==1.0 is available" / "only x<=1.0 is available"; the name
# normalised or as given, perhaps with extras ("x[fast]==2.0") that are no part of it.
_NO_VERSION = re.compile(
    rf"\bno\s+versions?\s+of\s+{_NAME}"
    rf"|\bonly\s+{_NAME}(?:\[[^\]]*\])?\s*(?:===?|<=|>=|<|>|!=|~=)[^\s]*\s+(?:is|are)\s+available",
    re.IGNORECASE,
)


def normalise_name(name: str) -> str:
    """A package name as indexes file it (PEP 503): ``Tiny_Stale`` is ``tiny-stale``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def packages_without_version(result: UvResult) -> tuple[str, ...]:
    """The packages a failed uv run found no (matching) version of, normalised, in the order
    uv named them; none when it succeeded or failed for another reason."""
    message = failure_lines(result)
    # Only the resolver's verdict: a failed build's own output may say anything.
    if result.returncode == 0 or not message or "No solution found" not in message[0]:
        return ()
    # uv may wrap a long sentence: read its message as one line.
    text = " ".join(message)
    names = (first or second for first, second in _NO_VERSION.findall(text))
    return tuple(dict.fromkeys(normalise_name(name) for name in names))


def install_refreshing_stale_pages(
    run: Callable[[list[str]], UvResult], args: Sequence[str], log: Log
) -> UvResult:
    """Run ``uv args...`` with ``run``; when uv found no version of some packages, run it once
    more with their index pages fetched afresh, and return how that second run ended."""
    first = run(list(args))
    missing = packages_without_version(first)
    if not missing:
        return first
    refresh = refresh_arguments(missing)
    log(
        f"uv found no matching version of {', '.join(missing)} in its cached index pages, which"
        f" may predate the release: retrying once with {' '.join(refresh)}"
    )
    second = run([*args, *refresh])
    still = packages_without_version(second)
    if still:
        log(f"the retry failed too: the index itself has no matching version of {', '.join(still)}")
    return second


def refresh_arguments(packages: Sequence[str]) -> list[str]:
    """uv's options that revalidate just these packages' cached index pages."""
    return [option for name in packages for option in ("--refresh-package", name)]

"""Token lifetimes and digests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from wharf.errors import Invalid
from wharf.services.tokens import digest, parse_lifetime


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("2w", timedelta(weeks=2)),
        ("3600s", timedelta(hours=1)),
        (" 7D ", timedelta(days=7)),
        (None, timedelta(days=90)),
        ("never", None),
    ],
)
def test_lifetimes(text: str | None, expected: timedelta | None) -> None:
    assert parse_lifetime(text, default_days=90) == expected


@pytest.mark.parametrize("text", ["soon", "0d", "-1d", "1y", "d", "3651d"])
def test_bad_lifetimes_say_what_is_accepted(text: str) -> None:
    with pytest.raises(Invalid, match="expires_in"):
        parse_lifetime(text, default_days=90)


def test_digest_is_sha256_hex() -> None:
    assert digest("wharf_x") != digest("wharf_y")
    assert len(digest("wharf_x")) == 64

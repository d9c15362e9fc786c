"""The CLI reference in docs/ is generated from --help and must be current."""

from __future__ import annotations

from pathlib import Path

from wharf.docs import render_cli_reference

ROOT = Path(__file__).parents[2]


def test_cli_reference_is_current() -> None:
    current = (ROOT / "docs" / "cli.md").read_text()
    assert current == render_cli_reference(), "run 'make docs' and commit docs/cli.md"


def test_every_command_has_help() -> None:
    reference = render_cli_reference()
    for command in (
        "wharf up",
        "wharf login",
        "wharf token create",
        "wharf role assign",
        "wharf workspace create",
        "wharf user create",
    ):
        assert f"`{command}`" in reference

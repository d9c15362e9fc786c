"""``--secret-env-file`` and ``--secret-env``: parsed without ever quoting a value back."""

from __future__ import annotations

from pathlib import Path

import pytest

from wharf.cli.app_changes import parse_pairs
from wharf.cli.apps import read_env_file
from wharf.sdk import InvalidRequestError


def test_an_env_file_skips_comments_and_keeps_values_as_written(tmp_path: Path) -> None:
    path = tmp_path / "app.env"
    path.write_text("# keys\n\nAPI_KEY=sk=live==\n  DB_PASSWORD= spaced \nEMPTY=\n")
    assert read_env_file(path) == {"API_KEY": "sk=live==", "DB_PASSWORD": " spaced ", "EMPTY": ""}
    assert read_env_file(None) == {}


def test_a_bad_line_names_its_place_but_not_its_content(tmp_path: Path) -> None:
    path = tmp_path / "app.env"
    path.write_text("API_KEY=ok\nsk-live-secret-without-a-key\n")
    with pytest.raises(InvalidRequestError, match=r"app.env:2 is not KEY=VALUE") as caught:
        read_env_file(path)
    assert "sk-live" not in caught.value.detail
    with pytest.raises(InvalidRequestError, match="cannot read"):
        read_env_file(tmp_path / "missing.env")


def test_a_bad_flag_is_refused_without_echoing_it() -> None:
    assert parse_pairs(["A=1", "B=x=y"], "--secret-env", secret=True) == {"A": "1", "B": "x=y"}
    with pytest.raises(InvalidRequestError) as caught:
        parse_pairs(["sk-live-secret"], "--secret-env", secret=True)
    assert "sk-live" not in caught.value.detail

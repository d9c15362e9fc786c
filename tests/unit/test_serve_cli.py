"""``wharf serve`` turns a user's mistake into one line, before building anything."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.processes import free_port
from wharf.cli.main import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHARF_DATA_DIR", str(tmp_path / "data"))


def test_a_folder_without_a_project_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", str(tmp_path), "--port", str(free_port())])
    assert result.exit_code == 1
    assert "cannot tell how to build" in result.output
    assert "Traceback" not in result.output


def test_env_takes_name_equals_value(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("")
    result = runner.invoke(
        app, ["serve", str(tmp_path), "--port", str(free_port()), "--env", "JUSTANAME"]
    )
    assert result.exit_code == 1
    assert "--env takes NAME=VALUE, not 'JUSTANAME'" in result.output


def test_a_port_in_use_is_refused_before_building(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("flask==3.1.3\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["serve", str(tmp_path), "--port", str(port)])
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.output
    assert not (tmp_path / "data").exists()

"""``wharf up`` stopped and started again: signals, a restart on the same data, a login kept."""

from __future__ import annotations

import signal
import tomllib
from pathlib import Path

import pytest

from tests.processes import group_is_gone, run_wharf_up, stop_group

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_shut_down_cleanly(tmp_path: Path, sig: int) -> None:
    with run_wharf_up(tmp_path) as wharf:
        code = stop_group(wharf.process, sig)
        # After a graceful shutdown uvicorn re-raises the signal, as daemons conventionally do.
        assert code in (0, -sig)
        assert group_is_gone(wharf.process.pid)
        log = wharf.log.read_text()
        assert "Application shutdown complete" in log
        assert "Finished server process" in log


def test_restart_keeps_data_and_the_cli_token(tmp_path: Path) -> None:
    with run_wharf_up(tmp_path) as wharf:
        assert wharf.cli("user", "create", "alice").returncode == 0
    first_token = tomllib.loads((tmp_path / "config" / "config.toml").read_text())["token"]
    with run_wharf_up(tmp_path) as wharf:
        assert "alice" in wharf.cli("user", "list").stdout
        assert "configured in" in wharf.log.read_text()
        assert "as admin" in wharf.log.read_text()
    assert tomllib.loads((tmp_path / "config" / "config.toml").read_text())["token"] == first_token


def test_a_login_to_another_server_is_left_alone(tmp_path: Path) -> None:
    config_file = tmp_path / "config" / "config.toml"
    config_file.parent.mkdir(parents=True)
    config_file.write_text('url = "https://wharf.example.org"\ntoken = "wharf_x"\n')
    with run_wharf_up(tmp_path) as wharf:
        assert "left as is" in wharf.log.read_text()
    assert "wharf.example.org" in config_file.read_text()

"""``wharf up`` as a new user runs it: a real server process, the real CLI, real signals."""

from __future__ import annotations

import os
import signal
import stat
import tomllib
from pathlib import Path

import httpx
import pytest

from tests.processes import group_is_gone, run_wharf_up, stop_group

pytestmark = pytest.mark.e2e


def test_first_start_configures_the_cli_and_serves_health(
    tmp_path: Path, database_url: str
) -> None:
    with run_wharf_up(tmp_path, env={"WHARF_DATABASE_URL": database_url}) as wharf:
        assert httpx.get(f"{wharf.url}/api/v1/health").json()["status"] == "ok"
        config_file = tmp_path / "config" / "config.toml"
        assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
        config = tomllib.loads(config_file.read_text())
        assert config["url"] == wharf.url
        assert config["workspace"] == "default"
        assert config["token"].startswith("wharf_")
        me = wharf.cli("user", "show", "--output", "json")
        assert me.returncode == 0, me.stderr
        assert '"name": "admin"' in me.stdout
        assert f"Wharf is starting at {wharf.url}" in wharf.log.read_text()


def test_reader_reads_cannot_write_and_revoked_token_is_refused(
    tmp_path: Path, database_url: str
) -> None:
    with run_wharf_up(tmp_path, env={"WHARF_DATABASE_URL": database_url}) as wharf:
        assert wharf.cli("user", "create", "alice").returncode == 0
        assert wharf.cli("role", "assign", "alice", "reader").returncode == 0
        created = wharf.cli("token", "create", "--user", "alice", "--output", "json")
        assert created.returncode == 0, created.stderr
        import json

        token = json.loads(created.stdout)
        alice_token = token["token"]

        readable = wharf.cli("member", "list", "--output", "json", token=alice_token)
        assert readable.returncode == 0, readable.stderr
        assert {"alice", "admin"} == {m["user"] for m in json.loads(readable.stdout)}

        refused = wharf.cli("role", "assign", "alice", "owner", token=alice_token)
        assert refused.returncode == 1
        assert refused.stderr.strip() == (
            "Error: role 'reader' in workspace 'default' does not grant members/write"
        )
        assert "Traceback" not in refused.stderr

        assert wharf.cli("token", "revoke", token["id"]).returncode == 0
        revoked = wharf.cli("member", "list", token=alice_token)
        assert revoked.returncode == 1
        assert f"token {token['id']} has been revoked" in revoked.stderr
        raw = httpx.get(
            f"{wharf.url}/api/v1/workspaces",
            headers={"Authorization": f"Bearer {alice_token}"},
        )
        assert raw.status_code == 401


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


def test_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with run_wharf_up(tmp_path) as wharf:
        port = wharf.url.rsplit(":", 1)[1]
        second = wharf.cli("up", "--port", port)
        assert second.returncode == 1
        assert second.stderr.strip() == (
            f"Error: port {port} on 127.0.0.1 is already in use: stop what uses it, "
            "or choose another with --port"
        )


def test_cli_without_a_server_says_how_to_start_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHARF_")}
    env["WHARF_CONFIG_DIR"] = str(tmp_path / "empty")
    import subprocess

    from tests.processes import WHARF

    result = subprocess.run([WHARF, "user", "list"], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert "no Wharf server is configured" in result.stderr
    assert "wharf up" in result.stderr


def test_a_login_to_another_server_is_left_alone(tmp_path: Path) -> None:
    config_file = tmp_path / "config" / "config.toml"
    config_file.parent.mkdir(parents=True)
    config_file.write_text('url = "https://wharf.example.org"\ntoken = "wharf_x"\n')
    with run_wharf_up(tmp_path) as wharf:
        assert "left as is" in wharf.log.read_text()
    assert "wharf.example.org" in config_file.read_text()

"""``wharf up`` as a new user runs it: a real server process, the real CLI, real signals."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import httpx
import pytest

from tests.processes import run_wharf_up

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


def test_reader_reads_cannot_write_and_revoked_token_is_refused(tmp_path: Path) -> None:
    # On SQLite only: the same rules on PostgreSQL are tests/api/test_identity.py's.
    with run_wharf_up(tmp_path) as wharf:
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

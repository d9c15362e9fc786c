"""The sandbox's command line and start-up decision, and real bubblewrap runs of small commands."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.sandboxing import require_bubblewrap
from wharf.config import Settings
from wharf.errors import Invalid
from wharf.sandbox import NO_SANDBOX, SandboxProfile, SandboxState, detect_sandbox, sandbox_env
from wharf.sandbox.bwrap import bwrap_argv
from wharf.services.platform import find_sandbox

pytestmark = pytest.mark.timeout(60)


def test_without_a_sandbox_the_command_is_itself() -> None:
    assert NO_SANDBOX.command(SandboxProfile(cwd=Path("/")), ["python", "-V"]) == ["python", "-V"]


def test_writable_folders_are_mounted_after_the_read_only_ones_that_hold_them() -> None:
    profile = SandboxProfile(
        cwd=Path("/srv/job"),
        read_only=(Path("/srv/job"), Path("/srv/env")),
        writable=(Path("/srv/job/out"),),
    )
    argv = bwrap_argv("/usr/bin/bwrap", profile, ["python"], identity=(64500, 64500))
    assert argv.index("/srv/job/out") > argv.index("/srv/job")
    assert argv[argv.index("/srv/job/out") - 1] == "--bind"
    assert argv[argv.index("/srv/env") - 1] == "--ro-bind"
    assert argv[-2:] == ["--", "python"]
    assert "--reuid=64500" in argv
    assert "--unshare-user" not in argv  # as root the uid changes for real, not in a namespace
    assert argv[argv.index("--tmpfs") + 1] == "/tmp"


def test_without_an_identity_the_sandbox_uses_a_user_namespace() -> None:
    argv = bwrap_argv("bwrap", SandboxProfile(cwd=Path("/")), ["true"], identity=None)
    assert "--unshare-user" in argv
    assert not any(arg.startswith("--reuid") for arg in argv)


def test_the_servers_settings_never_reach_user_code() -> None:
    env = {"WHARF_SECRET_KEY": "k", "WHARF_DATABASE_URL": "db", "DATABASE_URL": "db", "PATH": "/b"}
    assert sandbox_env(env) == {"PATH": "/b"}


def test_a_missing_bubblewrap_is_unavailable_and_loopback_still_starts(tmp_path: Path) -> None:
    found = detect_sandbox("auto", "/nonexistent/bwrap", 64500, 64500)
    assert found.state is SandboxState.UNAVAILABLE
    settings = Settings(data_dir=tmp_path, sandbox_bwrap="/nonexistent/bwrap")
    assert find_sandbox(settings).state is SandboxState.UNAVAILABLE
    public = Settings(data_dir=tmp_path, sandbox_bwrap="/nonexistent/bwrap", host="0.0.0.0")
    with pytest.raises(Invalid, match="will not start without a sandbox"):
        find_sandbox(public)
    opted_out = Settings(data_dir=tmp_path, sandbox="off", host="0.0.0.0")
    assert find_sandbox(opted_out).state is SandboxState.OFF


def test_a_sandboxed_command_sees_only_its_own_folders(tmp_path: Path) -> None:
    require_bubblewrap()
    sandbox = detect_sandbox("auto", "bwrap", 64500, 64500)
    assert sandbox.active, sandbox.detail
    own, other = tmp_path / "own", tmp_path / "other"
    own.mkdir()
    other.mkdir()
    (other / "secret").write_text("not yours")
    profile = SandboxProfile(cwd=own, writable=(own,))
    script = f"cat {other / 'secret'}; echo ok > {own / 'mine'}; id -u"
    done = subprocess.run(
        sandbox.command(profile, ["sh", "-c", script]), capture_output=True, text=True, timeout=30
    )
    assert "not yours" not in done.stdout
    assert (own / "mine").read_text() == "ok\n"
    if os.geteuid() == 0:
        assert done.stdout.split()[-1] == "64500"


def test_a_private_tree_is_opened_to_the_sandbox_group_only(tmp_path: Path) -> None:
    require_bubblewrap()
    sandbox = detect_sandbox("auto", "bwrap", 64500, 64500)
    if sandbox.identity is None:
        pytest.skip("user code keeps the server's uid: there is nothing to open")
    source = tmp_path / "source"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "code.py").write_text("print('hello')\n")
    for path, mode in (
        (source, 0o700),
        (source / "pkg", 0o700),
        (source / "pkg" / "code.py", 0o600),
    ):
        path.chmod(mode)
    profile = SandboxProfile(cwd=source, read_only=(source,))
    argv = sandbox.command(profile, ["cat", str(source / "pkg" / "code.py")])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert done.stdout == "print('hello')\n", done.stderr
    assert (source / "pkg" / "code.py").stat().st_mode & 0o777 == 0o640  # never world-readable
    assert source.stat().st_gid == 64500

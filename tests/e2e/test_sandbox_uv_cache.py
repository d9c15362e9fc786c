"""Which uv cache a sandboxed environment install uses: a private one by default, the server's
own when ``WHARF_SANDBOX_SHARED_UV_CACHE`` is on (mounted writable, whatever the project says).

The package is a wheel made here, inside the project: no index is asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sandboxing import require_bubblewrap
from tests.wheels import write_wheel
from wharf.build.detect import detect_builder
from wharf.build.environments import Installer, ensure_environment
from wharf.build.install import plan_install
from wharf.config import Settings
from wharf.sandbox import Sandbox, detect_sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

WHEEL = "tiny_cached-1.0-py3-none-any.whl"


@pytest.fixture
def sandbox() -> Sandbox:
    require_bubblewrap()
    defaults = Settings()
    found = detect_sandbox(
        "auto", defaults.sandbox_bwrap, defaults.sandbox_uid, defaults.sandbox_gid
    )
    assert found.active, found.detail
    return found


def project_installing_the_wheel(root: Path) -> Path:
    (root / ".s2i").mkdir(parents=True)
    write_wheel(root, "tiny-cached", "1.0", source="ANSWER = 42\n")
    (root / "requirements.txt").write_text(f"{root / WHEEL}\n")
    # A project that names a cache of its own choosing is not followed into it.
    (root / ".s2i" / "environment").write_text(f"UV_CACHE_DIR={root.parent / 'chosen'}\n")
    return root


def cached_files(cache: Path) -> list[Path]:
    return [path for path in cache.rglob("*") if path.is_file()] if cache.exists() else []


@pytest.mark.parametrize("share", [True, False], ids=["shared", "private"])
def test_a_sandboxed_install_uses_the_servers_cache_only_when_shared(
    tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, share: bool
) -> None:
    server_cache = tmp_path / "server-uv-cache"
    monkeypatch.setenv("UV_CACHE_DIR", str(server_cache))
    plan = plan_install(detect_builder(project_installing_the_wheel(tmp_path / "project")))
    envs = tmp_path / "envs"
    lines: list[str] = []

    env = ensure_environment(
        plan, envs, log=lines.append, installer=Installer(sandbox, share_uv_cache=share)
    )

    [installed] = env.path.glob("lib/python*/site-packages/tiny_cached.py")
    assert installed.read_text() == "ANSWER = 42\n", lines
    assert not (tmp_path / "chosen").exists()
    assert sorted(path.name for path in envs.iterdir()) == [".locks", env.key]  # no leftovers
    names = {path.name for path in cached_files(server_cache)}
    if share:
        assert "tiny_cached.py" in names, sorted(names)
    else:
        assert names == set()

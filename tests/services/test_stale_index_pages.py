"""A stale index page in uv's cache, reproduced for real: a simple index on 127.0.0.1 lists
version 1.0 of a tiny package with ``Cache-Control: max-age=600``, an install caches that
page, then version 2.0 is published. uv alone then finds no 2.0; Wharf's install retries once
with the page asked afresh and gets it."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server
from tests.gitrepos import commit_files, make_repo
from tests.services.test_builds import claim_and_run, create, read_log
from tests.wheels import write_simple_page, write_wheel
from wharf.build.detect import detect_builder
from wharf.build.environments import ensure_environment
from wharf.build.install import plan_install
from wharf.build.uv import run_uv, uv_environment
from wharf.config import Settings
from wharf.errors import Invalid
from wharf.services import apps, builds, workspaces
from wharf.states import BuildPhase

PAGE = "/simple/tiny-stale/"
RETRIED = "retrying once with --refresh-package tiny-stale"


class CachingIndex(SimpleHTTPRequestHandler):
    """Serves the index folder; pages may be cached for 10 minutes, as many indexes allow, and
    are always sent whole (no 304), so that only a refresh can see a change."""

    def __init__(self, *args: Any, requests: Counter[str], **kwargs: Any) -> None:
        self.requests = requests
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        self.requests[self.path] += 1
        del self.headers["If-Modified-Since"]
        super().do_GET()

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "max-age=600")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Index:
    root: Path
    url: str
    requests: Counter[str] = field(default_factory=Counter)

    def publish(self, *versions: str) -> None:
        """List these versions of tiny-stale (each a wheel whose module knows its version)."""
        wheels = [
            write_wheel(self.root / "files", "tiny-stale", v, source=f"VERSION = {v!r}\n")
            for v in versions
        ]
        write_simple_page(self.root / "simple", "tiny-stale", wheels)


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Index]:
    # A uv cache of the test's own, standing for a server's: the run's shared cache would mix
    # in pages another test cached for an index on the same (reused) port, and other uv runs.
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    root = tmp_path / "index"
    requests: Counter[str] = Counter()
    handler = partial(CachingIndex, directory=str(root), requests=requests)
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield Index(root, f"http://127.0.0.1:{server.server_port}/simple", requests)
        finally:
            server.shutdown()
            thread.join(timeout=10)


def build(index: Index, root: Path, requirement: str, log: list[str]) -> Path:
    """The environment of a project that needs ``requirement`` from the index."""
    (root / ".s2i").mkdir(parents=True)
    (root / "requirements.txt").write_text(f"{requirement}\n")
    (root / ".s2i" / "environment").write_text(f"PIP_INDEX_URL={index.url}\n")
    plan = plan_install(detect_builder(root))
    return ensure_environment(plan, root.parent / "envs", log=log.append).path


def installed_version(env: Path) -> str:
    [module] = env.glob("lib/python*/site-packages/tiny_stale.py")
    return module.read_text()


@pytest.fixture
def cached_one(index: Index, tmp_path: Path) -> Path:
    """An environment with tiny-stale 1.0, whose install left the page in uv's cache; then
    2.0 is published."""
    index.publish("1.0")
    env = build(index, tmp_path / "first", "tiny-stale==1.0", [])
    assert installed_version(env) == "VERSION = '1.0'\n"
    assert index.requests[PAGE] == 1
    index.publish("1.0", "2.0")
    return env


def test_uv_alone_reads_the_stale_page(index: Index, cached_one: Path, tmp_path: Path) -> None:
    args = ["pip", "install", "--dry-run", "--python", str(cached_one / "bin" / "python")]
    result = run_uv(
        [*args, "--index-url", index.url, "tiny-stale==2.0"],
        cwd=tmp_path,
        env=uv_environment({}),
        log=lambda line: None,
    )
    assert result.returncode != 0
    assert any("no version of tiny-stale==2.0" in line for line in result.output), result.output
    assert index.requests[PAGE] == 1  # the cached page answered


def test_a_stale_page_is_asked_afresh_once(index: Index, cached_one: Path, tmp_path: Path) -> None:
    log: list[str] = []
    env = build(index, tmp_path / "second", "tiny-stale==2.0", log)

    assert installed_version(env) == "VERSION = '2.0'\n"
    assert [line for line in log if "retrying" in line] == [
        "uv found no matching version of tiny-stale in its cached index pages, which may"
        " predate the release: retrying once with --refresh-package tiny-stale"
    ]
    assert index.requests[PAGE] == 2


def test_a_version_the_index_lacks_fails_after_one_retry(
    index: Index, cached_one: Path, tmp_path: Path
) -> None:
    log: list[str] = []
    with pytest.raises(Invalid) as failed:
        build(index, tmp_path / "second", "tiny-stale==3.0", log)

    assert "no version of tiny-stale==3.0" in str(failed.value)
    assert "Traceback" not in str(failed.value)
    assert sum(RETRIED in line for line in log) == 1
    assert sum("No solution found" in line for line in log) == 2  # uv ran twice, not more
    assert log[-1] == "the retry failed too: the index itself has no matching version of tiny-stale"
    assert index.requests[PAGE] == 2
    left = sorted(p.name for p in (tmp_path / "envs").iterdir())
    assert left == [".locks", cached_one.name]  # nothing of the failed build


def test_other_failures_are_not_retried(index: Index, cached_one: Path, tmp_path: Path) -> None:
    log: list[str] = []
    with pytest.raises(Invalid) as failed:
        build(index, tmp_path / "second", "tiny-gone==1.0", log)

    assert "tiny-gone was not found in the package registry" in str(failed.value)
    assert not any("retry" in line for line in log), log
    assert index.requests["/simple/tiny-gone/"] == 1


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A server whose sandboxed installs share its uv cache, where a page can go stale."""
    return settings.model_copy(update={"sandbox_shared_uv_cache": True})


def test_an_app_build_retries_and_says_so_in_its_log(
    server: Server, index: Index, tmp_path: Path
) -> None:
    index.publish("1.0")
    files = {
        "requirements.txt": "tiny-stale==1.0\n",
        ".s2i/environment": f"PIP_INDEX_URL={index.url}\n",
        "app.py": "import tiny_stale\n",
    }
    path, url = tmp_path / "stale-app", make_repo(tmp_path / "stale-app", files)
    name, _ = create(server, url)
    assert claim_and_run(server).phase == BuildPhase.COMPLETE, read_log(server, name, 1)
    index.publish("1.0", "2.0")
    commit_files(path, {"requirements.txt": "tiny-stale==2.0\n"}, "2.0 is out")
    with server.platform.transaction() as session:
        app = apps.read_app(session, workspaces.read_workspace(session, "default"), name)
        builds.start_build(session, app, trigger="manual", created_by="admin")

    second = claim_and_run(server)

    log = read_log(server, name, 2)
    assert second.phase == BuildPhase.COMPLETE, log
    assert log.count(RETRIED) == 1, log
    assert "+ tiny-stale==2.0" in log

"""The environment cache with real uv builds: atomic, shared safely, and clean on failure;
and the S2I run rules with real apps (an ASGI app, an APP_FILE app)."""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.serving import serve, serve_env
from wharf.build.detect import detect_builder
from wharf.build.environments import (
    METADATA_FILE,
    describe_python,
    ensure_environment,
    environment_key,
)
from wharf.build.install import plan_install
from wharf.errors import Invalid

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

# Ask for one environment from a separate process and report how it went.
ENSURE = """
import json, sys
from pathlib import Path
from wharf.build.detect import detect_builder
from wharf.build.environments import ensure_environment
from wharf.build.install import plan_install
plan = plan_install(detect_builder(Path(sys.argv[1])))
env = ensure_environment(plan, Path(sys.argv[2]), log=lambda line: print(line, flush=True))
print(json.dumps({"key": env.key, "reused": env.reused}))
"""


def project_with(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_two_builders_of_one_environment_build_it_once(tmp_path: Path) -> None:
    project = project_with(tmp_path / "project", {"requirements.txt": "# nothing yet\n"})
    envs = tmp_path / "envs"
    key = environment_key(
        describe_python(sys.executable), plan_install(detect_builder(project)).fingerprint
    )
    lock = envs / ".locks" / f"{key}.lock"
    lock.parent.mkdir(parents=True)
    with lock.open("a") as held:
        # Hold the lock so that both processes are certain to arrive while it is taken.
        fcntl.flock(held, fcntl.LOCK_EX)
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", ENSURE, str(project), str(envs)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for process in processes:
            assert process.stdout is not None
            # Each one says it waits, then blocks on the lock until it is released.
            assert "waiting for another build" in process.stdout.readline()
        fcntl.flock(held, fcntl.LOCK_UN)
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0]
    results = [json.loads(out.strip().splitlines()[-1]) for out in outputs]
    assert sorted(r["reused"] for r in results) == [False, True]
    assert {r["key"] for r in results} == {key}
    assert sorted(p.name for p in envs.iterdir()) == [".locks", key]
    assert (envs / key / METADATA_FILE).is_file()


def test_leftovers_of_a_dead_build_are_cleared(tmp_path: Path) -> None:
    project = project_with(tmp_path / "project", {"requirements.txt": "\n"})
    envs = tmp_path / "envs"
    plan = plan_install(detect_builder(project))
    key = environment_key(describe_python(sys.executable), plan.fingerprint)
    (envs / f".building-{key}-dead").mkdir(parents=True)
    (envs / key / "bin").mkdir(parents=True)  # half an environment, no metadata
    env = ensure_environment(plan, envs)
    assert not env.reused
    assert sorted(p.name for p in envs.iterdir()) == [".locks", key]
    assert env.python.exists()
    assert ensure_environment(plan, envs).reused


def test_a_failed_install_leaves_nothing_and_says_why(tmp_path: Path) -> None:
    project = project_with(tmp_path / "project", {"requirements.txt": "flask==99.0\n"})
    envs = tmp_path / "envs"
    lines: list[str] = []
    with pytest.raises(Invalid) as caught:
        ensure_environment(plan_install(detect_builder(project)), envs, log=lines.append)
    assert caught.value.code == "build-failed"
    assert "No solution found when resolving dependencies" in str(caught.value)
    assert "flask==99.0" in str(caught.value)
    assert any("flask==99.0" in line for line in lines), "installer output reaches the log"
    assert [p.name for p in envs.iterdir()] == [".locks"]


ASGI_REQUIREMENTS = """\
fastapi==0.165.0
gunicorn==27.0.1
uvicorn==0.54.0
annotated-doc==0.0.7
annotated-types==0.8.0
anyio==4.16.0
click==8.5.1
h11==0.16.0
idna==3.20
opentelemetry-api==1.45.2
pydantic==2.14.3
pydantic-core==2.50.4
starlette==1.10.0
typing-extensions==4.16.0
typing-inspection==0.4.5
"""

ASGI_APP = """\
from fastapi import FastAPI

app = FastAPI()


@app.get("/status")
async def status():
    return {"status": "ok", "served_by": "fastapi"}
"""


def test_an_asgi_app_runs_on_gunicorn_with_a_uvicorn_worker(tmp_path: Path) -> None:
    project = project_with(
        tmp_path / "asgi",
        {"requirements.txt": ASGI_REQUIREMENTS, "main.py": ASGI_APP,
         ".s2i/environment": "APP_MODULE=main:app\n"},
    )  # fmt: skip
    env = serve_env(tmp_path / "data", tmp_path / "config")
    with serve(project, env, tmp_path) as served:
        assert httpx.get(f"{served.url}/status").json() == {"status": "ok", "served_by": "fastapi"}
        log = served.output()
        assert "gunicorn main:app (ASGI, uvicorn.workers.UvicornWorker)" in log
        assert "Using worker: uvicorn.workers.UvicornWorker" in log


APP_FILE = """\
import http.server
import json
import os


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "ok", "port": os.environ["PORT"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


def test_an_app_file_gets_the_port_in_port(tmp_path: Path) -> None:
    project = project_with(
        tmp_path / "plain", {"requirements.txt": "# standard library only\n", "app.py": APP_FILE}
    )
    env = serve_env(tmp_path / "data", tmp_path / "config")
    with serve(project, env, tmp_path) as served:
        port = served.url.rsplit(":", 1)[1]
        assert httpx.get(f"{served.url}/status").json() == {"status": "ok", "port": port}
        assert "with python app.py" in served.output()

"""Build to serving: a cold first build vs a code-only rebuild (goal: serving in <= 5 s).

Starts a real ``wharf up`` with an empty environment cache (uv's download cache stays warm,
as on any machine that built once), creates an app from a freshly rendered model project,
and times from ``app create`` until the route answers; then commits a change to
``prediction.py``, starts a build and times until the route answers with the new prediction.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import httpx

WHARF = str(Path(sys.executable).parent / "wharf")
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@wharf.invalid"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(check: object, timeout: float = 300) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            if check():  # type: ignore[operator]
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError("not serving in time")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        env = dict(
            os.environ,
            WHARF_DATA_DIR=f"{tmp}/data",
            WHARF_CONFIG_DIR=f"{tmp}/config",
            WHARF_LOG_LEVEL="warning",
        )
        server = subprocess.Popen(
            [WHARF, "up", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(lambda: httpx.get(f"{base}/api/v1/health").status_code == 200, 60)
            subprocess.run(
                [WHARF, "init", "--no-input", "-o", tmp], env=env, check=True, capture_output=True
            )
            project = Path(tmp) / "my_model"
            subprocess.run([*GIT, "init", "-q", "-b", "main"], cwd=project, check=True)
            subprocess.run([*GIT, "add", "-A"], cwd=project, check=True)
            subprocess.run([*GIT, "commit", "-qm", "first"], cwd=project, check=True)
            route = f"{base}/apps/default/my-model/predictions"

            started = time.perf_counter()
            subprocess.run(
                [WHARF, "app", "create", "--git", project.as_uri()],
                env=env,
                check=True,
                capture_output=True,
            )
            _wait(lambda: httpx.post(route, json={}).status_code == 200)
            cold = time.perf_counter() - started

            prediction = project / "prediction.py"
            prediction.write_text(prediction.read_text().replace("not implemented", "v2"))
            subprocess.run([*GIT, "commit", "-qam", "code only"], cwd=project, check=True)
            token = tomllib.loads(Path(f"{tmp}/config/config.toml").read_text())["token"]
            started = time.perf_counter()
            httpx.post(
                f"{base}/api/v1/workspaces/default/apps/my-model/builds",
                headers={"Authorization": f"Bearer {token}"},
            ).raise_for_status()
            _wait(lambda: httpx.post(route, json={}).json() == {"prediction": "v2"})
            rebuild = time.perf_counter() - started
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
    print(f"{'case':<44}{'seconds':>9}")
    print(f"{'cold build (new environment) to serving':<44}{cold:>9.2f}")
    print(f"{'code-only rebuild to serving the new code':<44}{rebuild:>9.2f}  (goal <= 5 s)")
    print(f"ratio rebuild/cold: {rebuild / cold:.2f}")


if __name__ == "__main__":
    main()

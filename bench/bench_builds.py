"""Build to serving: a cold first build vs a code-only rebuild (goal: serving in <= 5 s), a
webhook push to serving, and rollbacks (goal: <= 2 s).

Starts a real ``wharf up`` with an empty environment cache (uv's download cache stays warm,
as on any machine that built once), creates an app from a freshly rendered model project,
and times from ``app create`` until the route answers; then commits a change to
``prediction.py``, starts a build and times until the route answers with the new prediction.
Then a push announced through the app's generic webhook, and rollbacks between builds #1 and
#3 through the API.
"""

from __future__ import annotations

import statistics
import subprocess
import time

import httpx

from bench.server import WHARF, running_wharf

GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@wharf.invalid"]


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
    with running_wharf() as server:
        subprocess.run(
            [WHARF, "init", "--no-input", "-o", str(server.tmp)],
            env=server.env,
            check=True,
            capture_output=True,
        )
        project = server.tmp / "my_model"
        subprocess.run([*GIT, "init", "-q", "-b", "main"], cwd=project, check=True)
        subprocess.run([*GIT, "add", "-A"], cwd=project, check=True)
        subprocess.run([*GIT, "commit", "-qm", "first"], cwd=project, check=True)
        route = f"{server.url}/apps/default/my-model/predictions"

        started = time.perf_counter()
        subprocess.run(
            [WHARF, "app", "create", "--git", project.as_uri()],
            env=server.env,
            check=True,
            capture_output=True,
        )
        _wait(lambda: httpx.post(route, json={}).status_code == 200)
        cold = time.perf_counter() - started

        prediction = project / "prediction.py"
        prediction.write_text(prediction.read_text().replace("not implemented", "v2"))
        subprocess.run([*GIT, "commit", "-qam", "code only"], cwd=project, check=True)
        started = time.perf_counter()
        httpx.post(
            f"{server.url}/api/v1/workspaces/default/apps/my-model/builds",
            headers={"Authorization": f"Bearer {server.token}"},
        ).raise_for_status()
        _wait(lambda: httpx.post(route, json={}).json() == {"prediction": "v2"})
        rebuild = time.perf_counter() - started

        api = f"{server.url}/api/v1/workspaces/default/apps/my-model"
        auth = {"Authorization": f"Bearer {server.token}"}
        hook = httpx.get(f"{api}/webhooks", headers=auth).json()["urls"]["generic"]
        prediction.write_text(prediction.read_text().replace("v2", "v3"))
        subprocess.run([*GIT, "commit", "-qam", "pushed"], cwd=project, check=True)
        sha = subprocess.run(
            [*GIT, "rev-parse", "HEAD"], cwd=project, check=True, capture_output=True, text=True
        ).stdout.strip()
        started = time.perf_counter()
        httpx.post(hook, json={"git": {"ref": "main", "commit": sha}}).raise_for_status()
        _wait(lambda: httpx.post(route, json={}).json() == {"prediction": "v3"})
        pushed = time.perf_counter() - started

        rollbacks = []
        for to, expected in [(1, "not implemented"), (3, "v3")] * 3:
            started = time.perf_counter()
            httpx.post(
                f"{api}/rollback", json={"to": to}, headers=auth, timeout=120
            ).raise_for_status()
            rollbacks.append(time.perf_counter() - started)
            assert httpx.post(route, json={}).json() == {"prediction": expected}
    rollback = statistics.median(rollbacks)
    print(f"{'case':<44}{'seconds':>9}")
    print(f"{'cold build (new environment) to serving':<44}{cold:>9.2f}")
    print(f"{'code-only rebuild to serving the new code':<44}{rebuild:>9.2f}  (goal <= 5 s)")
    print(f"{'webhook push (code only) to serving':<44}{pushed:>9.2f}")
    print(f"{'rollback, API call until serving (median 6)':<44}{rollback:>9.2f}  (goal <= 2 s)")
    print(f"ratio rebuild/cold: {rebuild / cold:.2f}")


if __name__ == "__main__":
    main()

"""Console pages with a full store: time to render Topology, the jobs list and a job page with
200 apps and 5,000 jobs (goal: p95 <= 100 ms each).

A real ``wharf up --demo`` makes one app and one job of every kind of row a page reads (so the
rows have real shapes); the store is then filled with copies of them straight through the
store (199 more apps, each with a Complete build, not serving, and 4,999 more jobs, a tenth of
them Failed), and ``wharf up`` starts again on it. A signed-in client asks each page
``REQUESTS`` times over loopback, one at a time, after a warm-up; the times are server time
plus a loopback round trip (well under a millisecond).
"""

from __future__ import annotations

import html
import re
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from bench.server import running_wharf
from wharf.config import Settings
from wharf.services import demo, passwords, users, workspaces
from wharf.services.platform import start_platform
from wharf.store.models import App, Build, Job
from wharf.store.types import utcnow

APPS = 200
JOBS = 5_000
REQUESTS = 50
WARM_UP = 5
GOAL_MS = 100.0
PASSWORD = "bench console password"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _copy(row: object, **changes: object) -> dict[str, object]:
    """A row's column values (not its id), with ``changes``."""
    table = row.__table__  # type: ignore[attr-defined]
    values = {c.key: getattr(row, c.key) for c in table.columns if c.key != "id"}
    return {**values, **changes}


def fill_store(folder: Path) -> str:
    """Copy the demo's app and job until there are ``APPS`` and ``JOBS``; return the demo
    job's name. The admin gets ``PASSWORD``."""
    settings = Settings(data_dir=folder / "data", config_dir=folder / "config")
    platform = start_platform(settings)
    try:
        with platform.transaction() as session:
            workspace = workspaces.read_workspace(session, demo.WORKSPACE)
            app = session.scalars(select(App).where(App.workspace_id == workspace.id)).one()
            build = session.scalars(select(Build).where(Build.app_id == app.id)).one()
            job = session.scalars(select(Job).where(Job.workspace_id == workspace.id)).one()
            for number in range(1, APPS):
                copy = App(**_copy(app, name=f"app-{number:03d}", serving_build=None))
                session.add(copy)
                session.flush()
                session.add(Build(**_copy(build, app_id=copy.id)))
            now = utcnow()
            for number in range(1, JOBS):
                failed = number % 10 == 0
                session.add(
                    Job(
                        **_copy(
                            job,
                            name=f"{job.name}-{number:04d}",
                            idempotency_key=None,
                            created_at=now - timedelta(minutes=number),
                            status="Failed" if failed else job.status,
                            error="ValueError: cannot score patients-03.csv row 7"
                            if failed
                            else None,
                        )
                    )
                )
            admin = users.read_user(session, "admin")
            admin.password_hash = passwords.hash_password(PASSWORD)
            return job.name
    finally:
        platform.close()


def sign_in(client: httpx.Client) -> None:
    form = client.get("/login")
    match = _CSRF.search(form.text)
    if match is None:
        raise RuntimeError("the sign-in page has no form")
    data = {"csrf_token": html.unescape(match.group(1)), "username": "admin", "password": PASSWORD}
    answer = client.post("/login", data={**data, "next": "/"})
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in refused: {answer.status_code}")


def time_page(client: httpx.Client, path: str) -> list[float] | int:
    """Milliseconds per request, or the status code when the page does not answer 200."""
    first = client.get(path)
    if first.status_code != 200:
        return first.status_code
    for _ in range(WARM_UP):
        client.get(path)
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        client.get(path).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with running_wharf("--demo", folder=folder) as server:
            log = folder / "up.log"
            deadline = time.monotonic() + 600
            while "Demo ready" not in log.read_text():
                if time.monotonic() > deadline or "could not be set up" in log.read_text():
                    raise RuntimeError(f"the demo did not get ready:\n{log.read_text()}")
                time.sleep(0.2)
        job = fill_store(folder)
        print(f"store: {APPS} apps, {JOBS} jobs")
        with (
            running_wharf(folder=folder) as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            sign_in(client)
            pages = {
                "Topology": "/w/default/topology",
                "Jobs": "/w/default/jobs",
                "Job": f"/w/default/jobs/{job}",
            }
            print(f"{'page':10} {'p50 ms':>8} {'p95 ms':>8}  goal p95 <= {GOAL_MS:.0f} ms")
            for name, path in pages.items():
                result = time_page(client, path)
                if isinstance(result, int):
                    print(f"{name:10} {'-':>8} {'-':>8}  not measured: {path} answered {result}")
                    continue
                p50 = statistics.median(result)
                p95 = statistics.quantiles(result, n=20)[-1]
                verdict = "meets" if p95 <= GOAL_MS else "MISSES"
                print(f"{name:10} {p50:8.1f} {p95:8.1f}  {verdict}")

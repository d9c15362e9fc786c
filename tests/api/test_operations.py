"""Request ids, the access line, ``/metrics`` and the deep health report, in-process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.pool import QueuePool

import wharf.api.app as app_module
from tests.conftest import Server
from tests.inprocess import serve_in_process
from wharf.api import create_app
from wharf.config import Settings
from wharf.runtime.registry import AppRegistry
from wharf.services.platform import Platform

WS = "/api/v1/workspaces/default"


def auth(server: Server, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.admin_token}", **headers}


def test_a_safe_request_id_is_echoed_in_the_header_and_the_problem_body(server: Server) -> None:
    answer = server.http.get(f"{WS}/apps/nope", headers=auth(server, **{"X-Request-ID": "ab-12"}))
    assert answer.status_code == 404
    assert answer.headers["x-request-id"] == "ab-12"
    assert answer.json()["request_id"] == "ab-12"
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "sent", [None, "", "x" * 129, "new\nline", "spaces are not ok", "semi;colon"]
)
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_fresh_one(
    server: Server, sent: str | None
) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent}
    first = server.http.get("/api/v1/workspaces", headers=headers)
    second = server.http.get("/api/v1/workspaces", headers=headers)
    assert first.status_code == 401
    given = first.headers["x-request-id"]
    assert len(given) == 32
    assert given.isalnum()
    assert given != second.headers["x-request-id"]
    assert first.json()["request_id"] == given  # the 401's problem body names it too
    if sent:
        assert sent not in first.text


def test_validation_errors_and_successes_carry_the_id_too(server: Server) -> None:
    invalid = server.http.post(
        f"{WS}/apps", json={"nope": 1}, headers=auth(server, **{"X-Request-ID": "v-1"})
    )
    assert invalid.status_code == 422
    assert invalid.json()["request_id"] == "v-1"
    ok = server.http.get("/api/v1/health", headers={"X-Request-ID": "h-1"})
    assert ok.headers["x-request-id"] == "h-1"


def test_the_access_line_has_the_request_id_and_masks_webhook_secrets(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="wharf.access"):
        server.http.get(f"{WS}/apps/nope", headers=auth(server, **{"X-Request-ID": "line-7"}))
        server.http.post("/hooks/default/app/s3cr3t-value/github", content=b"{}")
    lines = [r for r in caplog.records if r.name == "wharf.access"]
    mine = [r for r in lines if "request_id=line-7" in r.getMessage()]
    assert len(mine) == 1
    assert '"GET /api/v1/workspaces/default/apps/nope HTTP/1.1" 404' in mine[0].getMessage()
    assert mine[0].__dict__["status"] == 404
    hook = [r for r in lines if "/hooks/" in r.getMessage()]
    assert len(hook) == 1
    assert "s3cr3t-value" not in hook[0].getMessage()
    assert "/hooks/default/app/***/github" in hook[0].getMessage()
    assert "s3cr3t-value" not in caplog.text


def series(text: str, name: str) -> dict[str, float]:
    """Label set (as exported: names in alphabetical order) → value of each sample of ``name``."""
    found = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            labels, value = line.rsplit(" ", 1)
            found[labels[len(name) :]] = float(value)
    return found


def test_metrics_count_api_requests_by_route_template_never_by_raw_path(server: Server) -> None:
    for name in ("alpha", "beta", "gamma"):
        server.http.get(f"{WS}/apps/{name}", headers=auth(server))
    server.http.get("/api/v1/made/up/path")
    text = server.http.get("/metrics").text
    requests = series(text, "wharf_api_requests_total")
    key = '{code="404",method="GET",route="/api/v1/workspaces/{ws}/apps/{app}"}'
    assert requests[key] == 3
    assert requests['{code="404",method="GET",route="unmatched"}'] == 1
    assert not any(name in text for name in ("alpha", "beta", "gamma", "made/up"))
    latency = series(text, "wharf_api_request_duration_seconds_count")
    assert latency['{method="GET",route="/api/v1/workspaces/{ws}/apps/{app}"}'] == 3
    # The state families are read at the scrape.
    assert series(text, "wharf_build_queue_depth") == {"": 0.0}
    assert series(text, "wharf_job_queue_depth") == {"": 0.0}


def test_each_server_counts_only_its_own_requests(settings: Settings) -> None:
    app_a, app_b = create_app(settings), create_app(settings)
    with serve_in_process(app_a) as transport_a, serve_in_process(app_b) as transport_b:
        a = httpx.Client(transport=transport_a, base_url="http://testserver")
        b = httpx.Client(transport=transport_b, base_url="http://testserver")
        for _ in range(2):
            a.get("/api/v1/health")
        health = '{code="200",method="GET",route="/api/v1/health"}'
        assert series(a.get("/metrics").text, "wharf_api_requests_total")[health] == 2
        assert health not in series(b.get("/metrics").text, "wharf_api_requests_total")


@pytest.fixture
def guarded(settings: Settings) -> Iterator[httpx.Client]:
    app = create_app(settings.model_copy(update={"metrics_token": SecretStr("scrape-me")}))
    with (
        serve_in_process(app) as transport,
        httpx.Client(transport=transport, base_url="http://testserver") as http,
    ):
        yield http


def test_a_metrics_token_is_required_once_set(guarded: httpx.Client) -> None:
    refused = guarded.get("/metrics")
    assert refused.status_code == 401
    assert "WHARF_METRICS_TOKEN" in refused.json()["detail"]
    wrong = guarded.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ok = guarded.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert ok.status_code == 200
    assert "wharf_api_requests_total" in ok.text


def test_the_cheap_health_check_stays_cheap_and_the_deep_one_names_every_check(
    server: Server,
) -> None:
    cheap = server.http.get("/api/v1/health").json()
    assert cheap["status"] == "ok"
    assert "checks" not in cheap
    for url in ("/api/v1/health?deep=true", "/api/v1/ready"):
        deep = server.http.get(url)
        assert deep.status_code == 200, deep.text
        checks = deep.json()["checks"]
        assert set(checks) == {"database", "build-runner", "job-runner", "disk"}
        assert all(check["status"] == "ok" for check in checks.values()), checks


def test_the_deep_check_fails_with_503_and_says_which_check_failed(
    settings: Settings, tmp_path: Path
) -> None:
    app = create_app(settings.model_copy(update={"health_min_free_mb": 1 << 40}))
    with (
        serve_in_process(app) as transport,
        httpx.Client(transport=transport, base_url="http://testserver") as http,
    ):
        assert http.get("/api/v1/health").status_code == 200  # the cheap one is unaffected
        app.state.platform.job_runner.stop()  # its threads end, as a crashed runner's would
        answer = http.get("/api/v1/ready")
        assert answer.status_code == 503
        body = answer.json()
        assert body["status"] == "unavailable"
        checks = body["checks"]
        assert checks["database"]["status"] == "ok"
        assert checks["build-runner"]["status"] == "ok"
        assert checks["job-runner"]["status"] == "failed"
        assert "job runner" in checks["job-runner"]["detail"]
        assert checks["disk"]["status"] == "failed"
        assert "MiB free" in checks["disk"]["detail"]
        assert str(settings.data_dir) in checks["disk"]["detail"]


def test_a_stopping_server_waits_for_its_app_restore_so_no_connection_outlives_the_store(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Apps are restored on a thread of their own. Were the store closed before that thread is
    done, its connection would open a pool nothing closes (on PostgreSQL, a connection the
    garbage collector finds still open during some later test)."""
    closed = threading.Event()
    restorers: list[threading.Thread] = []
    restore_apps, close_platform = app_module.restore_apps, Platform.close

    def late_restore(platform: Platform, registry: AppRegistry) -> None:
        restorers.append(threading.current_thread())
        closed.wait(timeout=1)  # after the store closed, unless the shutdown waits for this
        restore_apps(platform, registry)

    def close(platform: Platform) -> None:
        close_platform(platform)
        closed.set()

    monkeypatch.setattr(app_module, "restore_apps", late_restore)
    monkeypatch.setattr(Platform, "close", close)
    app = create_app(settings)
    with serve_in_process(app):
        pass
    for thread in restorers:
        thread.join()
    pool = app.state.platform.engine.pool
    assert isinstance(pool, QueuePool)
    assert pool.checkedin() == 0, pool.status()

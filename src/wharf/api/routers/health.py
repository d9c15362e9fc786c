"""Health and readiness: the routes that need no token, for load balancers and orchestrators.

``GET /health`` is cheap (the store answers ``SELECT 1``). ``GET /health?deep=true`` and
``GET /ready`` run every check of :func:`wharf.services.health.deep_health` and name the one that
failed; either answers 503 when one does.
"""

from __future__ import annotations

from fastapi import Query, Request
from fastapi.responses import JSONResponse

from wharf.api.deps import server_platform
from wharf.api.routing import APIRouter
from wharf.schemas.common import Health, HealthCheck
from wharf.services import health
from wharf.services.platform import Platform, describe_sandbox
from wharf.version import __version__

router = APIRouter(tags=["health"])

_RESPONSES: dict[int | str, dict[str, object]] = {503: {"model": Health}}


@router.get("/health", response_model=Health, responses=_RESPONSES)
def read_health(
    request: Request,
    deep: bool = Query(default=False, description="run every check, not only the store's"),
) -> JSONResponse:
    """``ok`` when the server and its store answer; 503 otherwise. With ``deep=true``, the
    runners and the data dir's free space too, each under ``checks``, and how user code runs
    (``sandbox``)."""
    # The server's platform, not a request's: a probe opens no session and no transaction.
    platform = server_platform(request)
    if deep:
        return _deep_report(request, platform)
    healthy = health.check_database(platform).ok
    body = Health(
        status="ok" if healthy else "unavailable",
        version=__version__,
        database="ok" if healthy else "unreachable",
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=200 if healthy else 503)


@router.get("/ready", response_model=Health, responses=_RESPONSES)
def read_readiness(request: Request) -> JSONResponse:
    """Whether this server can do its work: the deep health report."""
    return _deep_report(request, server_platform(request))


def _deep_report(request: Request, platform: Platform) -> JSONResponse:
    runners = {
        "build-runner": platform.build_runner,
        "job-runner": platform.job_runner,
    }
    results = health.deep_health(platform, runners)
    healthy = all(result.ok for result in results.values())
    body = Health(
        status="ok" if healthy else "unavailable",
        version=__version__,
        database="ok" if results["database"].ok else "unreachable",
        checks={
            name: HealthCheck(status="ok" if result.ok else "failed", detail=result.detail)
            for name, result in results.items()
        },
        sandbox=describe_sandbox(platform),
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=200 if healthy else 503)

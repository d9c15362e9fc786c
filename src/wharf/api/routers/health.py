"""Health: the one route that needs no token, for load balancers and ``make up`` checks."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from wharf.api.deps import PlatformDep
from wharf.schemas.common import Health
from wharf.services.platform import describe_sandbox
from wharf.version import __version__

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
def read_health(platform: PlatformDep, deep: bool = False) -> JSONResponse:
    """``ok`` when the server and its store answer; 503 otherwise. ``deep=true`` adds how user
    code runs (the sandbox)."""
    healthy = platform.check_database()
    body = Health(
        status="ok" if healthy else "unavailable",
        version=__version__,
        database="ok" if healthy else "unreachable",
        sandbox=describe_sandbox(platform) if deep else None,
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=200 if healthy else 503)

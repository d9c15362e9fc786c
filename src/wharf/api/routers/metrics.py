"""``GET /metrics``: the server's Prometheus metrics, in the text format.

Open unless ``WHARF_METRICS_TOKEN`` is set; then Prometheus sends it as a bearer token
(``authorization: {credentials: ...}`` in its scrape config). Not part of the REST API's
document: it is for scrapers, not for clients.
"""

from __future__ import annotations

import secrets

from fastapi import Request
from fastapi.responses import Response

from wharf.api.routing import APIRouter
from wharf.config import Settings
from wharf.errors import Unauthenticated
from wharf.metrics import CONTENT_TYPE, Metrics

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
def read_metrics(request: Request) -> Response:
    """Every family, with the store's and the runtime's state read now."""
    settings: Settings = request.app.state.settings
    if settings.metrics_token is not None:
        expected = settings.metrics_token.get_secret_value()
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            given.encode(), expected.encode()
        ):
            raise Unauthenticated("/metrics needs the bearer token set in WHARF_METRICS_TOKEN")
    metrics: Metrics = request.app.state.metrics
    return Response(metrics.render(), media_type=CONTENT_TYPE)

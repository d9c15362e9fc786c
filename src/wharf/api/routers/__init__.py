"""Every API router, listed in one place (mounted under ``/api/v1``)."""

from fastapi import APIRouter

from wharf.api.routers import (
    apps,
    assets,
    batch_endpoints,
    datastores,
    health,
    jobs,
    members,
    roles,
    source_secrets,
    tokens,
    users,
    webhooks,
    workbenches,
    workspaces,
)

ROUTERS: list[APIRouter] = [
    health.router,
    users.router,
    tokens.router,
    workspaces.router,
    members.router,
    roles.router,
    datastores.router,
    assets.data_router,
    assets.model_router,
    apps.router,
    webhooks.router,
    source_secrets.router,
    batch_endpoints.router,
    jobs.router,
    workbenches.router,
]

"""Every console page router, listed in one place (one module per noun)."""

from fastapi import APIRouter

from wharf.console.pages import (
    assets,
    auth,
    batch_endpoints,
    datastores,
    home,
    jobs,
    members,
    topology,
)

PAGES: list[APIRouter] = [
    auth.router,
    home.router,
    topology.router,
    batch_endpoints.router,
    jobs.router,
    assets.data_pages,
    assets.model_pages,
    datastores.router,
    members.router,
]

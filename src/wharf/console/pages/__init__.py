"""Every console page router, listed in one place (one module per noun)."""

from fastapi import APIRouter

from wharf.console.pages import (
    apps,
    assets,
    auth,
    batch_endpoints,
    builds,
    datastores,
    home,
    import_git,
    jobs,
    members,
    source_secrets,
    tokens,
    topology,
    webhooks,
    workbenches,
)

PAGES: list[APIRouter] = [
    auth.router,
    home.router,
    tokens.router,
    topology.router,
    apps.router,
    builds.router,
    webhooks.router,
    import_git.router,
    source_secrets.router,
    batch_endpoints.router,
    jobs.router,
    assets.data_pages,
    assets.model_pages,
    datastores.router,
    members.router,
    workbenches.router,
]

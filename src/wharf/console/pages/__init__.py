"""Every console page router, listed in one place (one module per noun)."""

from fastapi import APIRouter

from wharf.console.pages import (
    apps,
    auth,
    builds,
    home,
    import_git,
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
    workbenches.router,
]

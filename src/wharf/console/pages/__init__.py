"""Every console page router, listed in one place (one module per noun)."""

from fastapi import APIRouter

from wharf.console.pages import auth, home, topology

PAGES: list[APIRouter] = [
    auth.router,
    home.router,
    topology.router,
]

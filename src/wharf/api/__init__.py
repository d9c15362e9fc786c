"""The REST API: a FastAPI app factory, one router per noun, auth and problem errors."""

from wharf.api.app import create_app

__all__ = ["create_app"]

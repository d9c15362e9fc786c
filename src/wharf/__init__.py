"""Wharf: take machine-learning models from a notebook to production.

The public Python SDK lives here: ``from wharf import Client``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wharf.sdk import (
        APIError,
        AuthenticationError,
        BatchDeployment,
        BatchEndpoint,
        Client,
        ConfigError,
        ConflictError,
        Data,
        Input,
        InvalidRequestError,
        Job,
        Model,
        NotFoundError,
        Output,
        PermissionDeniedError,
        ServerUnavailableError,
        WharfError,
    )

__all__ = [
    "APIError",
    "AuthenticationError",
    "BatchDeployment",
    "BatchEndpoint",
    "Client",
    "ConfigError",
    "ConflictError",
    "Data",
    "Input",
    "InvalidRequestError",
    "Job",
    "Model",
    "NotFoundError",
    "Output",
    "PermissionDeniedError",
    "ServerUnavailableError",
    "WharfError",
]


def __getattr__(name: str) -> Any:
    # The SDK (httpx, pydantic models) loads on first use, not with every ``wharf.*`` module:
    # the server and the CLI import ``wharf.something`` and must not pay for it.
    if name in __all__:
        return getattr(importlib.import_module("wharf.sdk"), name)
    raise AttributeError(f"module 'wharf' has no attribute {name!r}")

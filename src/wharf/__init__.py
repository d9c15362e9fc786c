"""Wharf: take machine-learning models from a notebook to production.

The public Python SDK lives here: ``from wharf import Client``.
"""

from wharf.sdk import (
    APIError,
    AuthenticationError,
    Client,
    ConfigError,
    ConflictError,
    Data,
    InvalidRequestError,
    Model,
    NotFoundError,
    PermissionDeniedError,
    ServerUnavailableError,
    WharfError,
)

__all__ = [
    "APIError",
    "AuthenticationError",
    "Client",
    "ConfigError",
    "ConflictError",
    "Data",
    "InvalidRequestError",
    "Model",
    "NotFoundError",
    "PermissionDeniedError",
    "ServerUnavailableError",
    "WharfError",
]

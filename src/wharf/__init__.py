"""Wharf: take machine-learning models from a notebook to production.

The public Python SDK lives here: ``from wharf import Client``.
"""

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

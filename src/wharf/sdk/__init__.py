"""The Wharf Python SDK. Typed; imports nothing from the server.

from wharf import Client
client = Client.from_config()
"""

from wharf.sdk._client import Client
from wharf.sdk._config import ClientConfig, config_path, read_config, write_config
from wharf.sdk._entities import Data, Model
from wharf.sdk._errors import (
    APIError,
    AuthenticationError,
    ConfigError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ServerUnavailableError,
    WharfError,
)

__all__ = [
    "APIError",
    "AuthenticationError",
    "Client",
    "ClientConfig",
    "ConfigError",
    "ConflictError",
    "Data",
    "InvalidRequestError",
    "Model",
    "NotFoundError",
    "PermissionDeniedError",
    "ServerUnavailableError",
    "WharfError",
    "config_path",
    "read_config",
    "write_config",
]

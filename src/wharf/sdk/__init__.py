"""The Wharf Python SDK. Typed; imports nothing from the server.

from wharf import Client
client = Client.from_config()
"""

from wharf.schemas.batch import Job
from wharf.sdk._batch import BatchDeployment, BatchEndpoint
from wharf.sdk._batch_specs import Input, Output
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
from wharf.sdk._jobs import FINAL_STATES

__all__ = [
    "FINAL_STATES",
    "APIError",
    "AuthenticationError",
    "BatchDeployment",
    "BatchEndpoint",
    "Client",
    "ClientConfig",
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
    "config_path",
    "read_config",
    "write_config",
]

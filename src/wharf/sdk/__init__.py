"""The Wharf Python SDK. Typed; imports nothing from the server.

from wharf import Client
client = Client.from_config()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Where each public name lives: a name's module is imported on first use, so ``from wharf.sdk
# import WharfError`` (the CLI's every command) does not load httpx or the batch schemas.
_HOMES = {
    "FINAL_STATES": "wharf.sdk._jobs",
    "APIError": "wharf.sdk._errors",
    "AuthenticationError": "wharf.sdk._errors",
    "BatchDeployment": "wharf.sdk._batch",
    "BatchEndpoint": "wharf.sdk._batch",
    "Client": "wharf.sdk._client",
    "ClientConfig": "wharf.sdk._config",
    "ConfigError": "wharf.sdk._errors",
    "ConflictError": "wharf.sdk._errors",
    "Data": "wharf.sdk._entities",
    "Input": "wharf.sdk._batch_specs",
    "InvalidRequestError": "wharf.sdk._errors",
    "Job": "wharf.schemas.batch",
    "Model": "wharf.sdk._entities",
    "NotFoundError": "wharf.sdk._errors",
    "Output": "wharf.sdk._batch_specs",
    "PermissionDeniedError": "wharf.sdk._errors",
    "ServerUnavailableError": "wharf.sdk._errors",
    "WharfError": "wharf.sdk._errors",
    "config_path": "wharf.sdk._config",
    "read_config": "wharf.sdk._config",
    "write_config": "wharf.sdk._config",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'wharf.sdk' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)

"""The SDK's public surface is explicit, and the SDK never imports the server."""

from __future__ import annotations

import subprocess
import sys

import wharf
import wharf.sdk


def test_public_names_are_exactly_these() -> None:
    assert sorted(wharf.__all__) == [
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
    for name in wharf.__all__:
        assert getattr(wharf, name) is getattr(wharf.sdk, name)
    assert set(wharf.__all__) <= set(wharf.sdk.__all__)


def test_importing_the_sdk_loads_no_server_code() -> None:
    code = (
        "import sys, wharf; from wharf import Client; "
        "bad = sorted(m for m in sys.modules if m.startswith("
        "('wharf.api', 'wharf.services', 'wharf.store', 'fastapi', 'sqlalchemy'))); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

"""The ``wharf`` command imports only what the command it runs needs (checked by the modules a
fresh interpreter has loaded, never by time): every CLI call pays for its imports."""

from __future__ import annotations

import json
import subprocess
import sys

# Server code and its libraries: no CLI command but `wharf up`, `init` and `serve` needs them.
SERVER = (
    "aiohttp",
    "fastapi",
    "sqlalchemy",
    "uvicorn",
    "wharf.api",
    "wharf.build",
    "wharf.config",
    "wharf.console",
    "wharf.services",
    "wharf.store",
    "wharf.workers",
)
# What only commands that talk to a server, or print their answers, need.
CLIENT = ("httpx", "jmespath", "pydantic", "wharf.schemas", "wharf.sdk._client", "yaml")


def loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code`` (a None entry is an
    import that was stopped, not a module)."""
    script = (
        f"import json, sys\n{code}\n"
        "print(json.dumps(sorted(name for name, m in sys.modules.items() if m is not None)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def among(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def test_importing_the_cli_loads_no_server_and_no_client_code() -> None:
    modules = loaded_after("import wharf.cli.main")
    assert among(modules, (*SERVER, *CLIENT)) == []


def test_a_noun_loads_its_own_module_only() -> None:
    modules = loaded_after("from wharf.cli.main import load_command\nload_command('app')")
    assert "wharf.cli.apps" in modules
    assert among(modules, (*SERVER, "wharf.cli.batch", "wharf.schemas.batch")) == []


def test_the_full_help_loads_no_server_code() -> None:
    modules = loaded_after(
        "from typer.testing import CliRunner\n"
        "from wharf.cli.main import app\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0"
    )
    assert "wharf.cli.batch" in modules  # every command was listed
    assert among(modules, SERVER) == []


def test_the_sdk_package_loads_its_parts_on_first_use() -> None:
    modules = loaded_after("from wharf import WharfError")
    assert among(modules, ("httpx", "wharf.schemas.batch")) == []
    modules = loaded_after("from wharf import Client\nassert Client.__name__ == 'Client'")
    assert "httpx" in modules


def test_the_cli_skips_the_command_line_of_httpx() -> None:
    modules = loaded_after("import wharf.cli.main\nimport httpx\nassert callable(httpx.main)")
    assert among(modules, ("click", "pygments")) == []

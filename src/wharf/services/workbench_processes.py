"""How a workbench runs: its environment from the uv cache, and JupyterLab's command line.

The environment holds JupyterLab 4 with jupyterlab-git, ipykernel and nbdime, Wharf's own
dependencies and the user's extra requirements; it is built once per content and shared by
every workbench that asks for the same. Wharf itself (SDK and CLI) is the server's own package,
shown read-only on the workbench's ``PYTHONPATH``. Packages a user installs in a cell
(``%pip install``) go to ``~/.local/workbench-packages`` in the home folder, since the
environment is read-only.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import wharf
from wharf.build.detect import PythonProject
from wharf.build.environments import Environment, ensure_environment, python_home
from wharf.build.install import plan_install
from wharf.build.uv import Log
from wharf.notebooks.keys import IDENTITY_PROVIDER
from wharf.runtime.specs import ProcessSpec
from wharf.sandbox import SandboxProfile
from wharf.services.platform import Platform

# jupyter-server: 2.14.1 fixed the open redirect and 2.11.2 the XSS advisories; 2.21.1 is
# the newest release, with no open advisory.
JUPYTER_REQUIREMENTS = (
    "jupyterlab>=4.2,<5",
    "jupyter-server==2.21.1",
    "jupyterlab-git>=0.50,<1",
    "ipykernel>=6.29",
    "nbdime>=4",
    "pip",
    # jsonschema 4.24+ imports rfc3987-syntax, which builds a parser at import time: 3-4 s of
    # CPU at every JupyterLab start (through jupyter-events). Nothing here needs it.
    "jsonschema<4.24",
)
USER_PACKAGES = ".local/workbench-packages"
_SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
_EXTRA = re.compile(r";\s*extra\s*==")


def wharf_requirements() -> list[str]:
    """What Wharf's SDK and CLI need at run time: the package's own dependencies."""
    try:
        required = importlib.metadata.requires("wharf") or []
    except importlib.metadata.PackageNotFoundError:  # run from a bare source tree
        required = ["httpx", "typer", "rich", "pyyaml", "tomli-w", "jmespath", "pydantic"]
    return [line for line in required if not _EXTRA.search(line)]


def requirements_text(extra: str) -> str:
    lines = [*JUPYTER_REQUIREMENTS, *wharf_requirements()]
    return "\n".join(lines) + "\n" + (extra.strip() + "\n" if extra.strip() else "")


def ensure_workbench_environment(platform: Platform, extra: str, log: Log) -> Environment:
    """The workbench environment for these extra requirements (built once, then reused)."""
    text = requirements_text(extra)
    fingerprint = hashlib.sha256(text.encode()).hexdigest()[:24]
    folder = platform.settings.data_dir / "workbenches" / ".requirements" / fingerprint
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "requirements.txt").write_text(text)
    project = PythonProject(root=folder, markers=("requirements.txt",))
    # Compiled once here: the environment is read-only inside the sandbox, and without its
    # bytecode every start would compile JupyterLab's thousands of modules again.
    plan = plan_install(project, build_env={"UV_COMPILE_BYTECODE": "1"})
    return ensure_environment(
        plan, platform.settings.envs_dir, log=log, installer=platform.installer()
    )


def wharf_package_dir() -> Path:
    """The folder of the ``wharf`` package this server runs."""
    return Path(wharf.__file__).resolve().parent


def prepare_tools(tools: Path) -> Path:
    """``<tools>/python/wharf`` (a link to the server's package) and ``<tools>/bin/wharf``."""
    (tools / "python").mkdir(parents=True, exist_ok=True)
    (tools / "bin").mkdir(parents=True, exist_ok=True)
    link = tools / "python" / "wharf"
    if not link.is_symlink() or link.resolve() != wharf_package_dir():
        link.unlink(missing_ok=True)
        link.symlink_to(wharf_package_dir())
    script = tools / "bin" / "wharf"
    script.write_text("#!/usr/bin/env python\nfrom wharf.cli.main import main\n\nmain()\n")
    script.chmod(0o755)
    for folder in (tools, tools / "python", tools / "bin"):
        folder.chmod(0o755)
    return tools


@dataclass(frozen=True)
class WorkbenchCommand:
    """Everything that decides one workbench process, but its port."""

    env_dir: Path
    home: Path
    tools: Path
    environment: Mapping[str, str]
    """The variables the process gets (credentials included; never logged)."""


def jupyter_argv(env_dir: Path, home: Path, port: int) -> list[str]:
    return [
        str(env_dir / "bin" / "python"),
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.base_url=/",
        f"--ServerApp.root_dir={home}",
        # The Host header is the workbench's own name, not a loopback one; only the proxy
        # knows the key this port admits.
        "--ServerApp.allow_remote_access=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        # No Jupyter token (it would be written into every page): the proxy's key instead.
        f"--ServerApp.identity_provider_class={IDENTITY_PROVIDER}",
    ]


def process_spec(platform: Platform, command: WorkbenchCommand, port: int) -> ProcessSpec:
    """The sandboxed JupyterLab on ``port``: home read-write, environment read-only."""
    argv = jupyter_argv(command.env_dir, command.home, port)
    python = os.path.realpath(command.env_dir / "bin" / "python")
    profile = SandboxProfile(
        cwd=command.home,
        read_only=(command.env_dir, python_home(python), command.tools, wharf_package_dir()),
        writable=(command.home,),
        home=command.home,
    )
    return ProcessSpec(
        argv=platform.sandbox.command(profile, argv), env=command.environment, cwd=command.home
    )


def base_environment(env_dir: Path, home: Path, tools: Path) -> dict[str, str]:
    """The variables every workbench process has, before its identity and credentials."""
    packages = home / USER_PACKAGES
    return {
        "PATH": ":".join(
            [str(env_dir / "bin"), str(packages / "bin"), str(tools / "bin"), _SYSTEM_PATH]
        ),
        "HOME": str(home),
        "VIRTUAL_ENV": str(env_dir),
        "PYTHONPATH": f"{packages}:{tools / 'python'}",
        "PIP_TARGET": str(packages),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "SHELL": "/bin/bash",
        "TERM": "xterm-256color",
        "WHARF_CONFIG_DIR": str(home / ".config" / "wharf"),
        "PYTHONUNBUFFERED": "1",
    }


# A credential helper that answers from the process's environment only: nothing is written
# to the home folder, and the values leave with the process.
CREDENTIAL_HELPER = (
    '!f() { test "$1" = get || exit 0; '
    'test -n "$WHARF_GIT_PASSWORD" || exit 0; '
    'echo "username=${WHARF_GIT_USERNAME:-git}"; echo "password=$WHARF_GIT_PASSWORD"; }; f'
)


def git_environment(
    user_name: str, email: str | None, username: str | None, password: str | None
) -> dict[str, str]:
    """The user's git identity and, with a source secret, its credentials for https."""
    address = email or f"{user_name}@users.wharf.invalid"
    env = {
        "GIT_AUTHOR_NAME": user_name,
        "GIT_AUTHOR_EMAIL": address,
        "GIT_COMMITTER_NAME": user_name,
        "GIT_COMMITTER_EMAIL": address,
        "EMAIL": address,
    }
    if password:
        env.update(
            {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "credential.helper",
                "GIT_CONFIG_VALUE_0": CREDENTIAL_HELPER,
                "WHARF_GIT_USERNAME": username or "git",
                "WHARF_GIT_PASSWORD": password,
            }
        )
    return env

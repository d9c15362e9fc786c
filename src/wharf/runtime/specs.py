"""What the runtime is handed: how to start a replica on a port, and a revision of an app."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from wharf.runtime.limits import ResourceLimits

PORT_PLACEHOLDER = "{port}"
"""Replaced by the replica's port in ``ProcessSpec.argv`` and environment values."""


@dataclass(frozen=True)
class ProcessSpec:
    """One replica's command: argv, the complete environment, and the working directory.

    The environment is used as given (nothing of Wharf's own leaks in), so it must carry
    ``PATH`` and whatever else the command needs."""

    argv: Sequence[str]
    env: Mapping[str, str]
    cwd: Path

    def with_port(self, port: int) -> ProcessSpec:
        """This spec with ``{port}`` replaced in argv and environment values."""
        text = str(port)
        return ProcessSpec(
            argv=[arg.replace(PORT_PLACEHOLDER, text) for arg in self.argv],
            env={k: v.replace(PORT_PLACEHOLDER, text) for k, v in self.env.items()},
            cwd=self.cwd,
        )


class Launchable(Protocol):
    """Anything with argv, env and cwd: a ``ProcessSpec``, or the build's S2I ``RunCommand``."""

    @property
    def argv(self) -> Sequence[str]: ...

    @property
    def env(self) -> Mapping[str, str]: ...

    @property
    def cwd(self) -> Path: ...


CommandFactory = Callable[[int], Launchable]
"""Port -> the command of a replica listening on it. The S2I run command plugs in as
``lambda port: plan_run(project_dir, env_dir, port, runtime_env=..., interface=...)``."""


def as_command_factory(command: ProcessSpec | CommandFactory) -> CommandFactory:
    """A factory for either form: a spec with ``{port}`` placeholders, or a callable."""
    if isinstance(command, ProcessSpec):
        return command.with_port
    return command


@dataclass(frozen=True)
class Endpoint:
    """Where a ready replica answers. Replicas listen on loopback only."""

    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class Backoff:
    """Delays between restarts of a crashing replica: ``initial * factor**n``, capped."""

    initial: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    reset_after: float = 60.0
    """A replica that ran this long before exiting starts again from ``initial``."""

    def delay(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th exit in a row (1 for the first)."""
        return float(min(self.cap, self.initial * self.factor ** max(0, failures - 1)))


PrefixStyle = Literal["script-name", "strip"]
"""How a path route's prefix (``/apps/ws/app``) reaches the app.

``script-name``: the full path is forwarded with a ``SCRIPT_NAME`` header, which gunicorn
honours from a trusted proxy (loopback by default) by moving the prefix from ``PATH_INFO`` to
``SCRIPT_NAME`` — WSGI apps route as if mounted at ``/`` and build links with the prefix.
``strip``: the prefix is removed from the path; for servers that ignore ``SCRIPT_NAME``
(uvicorn, plain ``APP_SCRIPT`` servers). Both send ``X-Forwarded-Prefix``."""


@dataclass(frozen=True)
class RevisionSpec:
    """One revision of an app, ready to run: typically a Complete build."""

    revision: str
    """A label for people and logs, e.g. the build number ``"3"``."""
    command: ProcessSpec | CommandFactory
    replicas: int = 1
    limits: ResourceLimits = field(default_factory=ResourceLimits)
    prefix_style: PrefixStyle = "script-name"
    backoff: Backoff = field(default_factory=Backoff)
    probe_path: str = "/"
    """Readiness: any HTTP response to ``GET probe_path`` means the replica is ready."""

"""Wire shapes of apps and builds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from wharf.schemas.common import RequestModel, ResponseModel
from wharf.schemas.text import EnvMap, Name, Tags

GitUrl = Annotated[str, StringConstraints(min_length=1, max_length=2048)]


class RouteOptions(RequestModel):
    enabled: bool = Field(default=True, description="false: no route (reachable by no URL)")
    hostname: str | None = Field(default=None, description="a custom host name to answer on")
    path: str | None = Field(default=None, description="a path prefix on the custom host")


class AppCreate(RequestModel):
    git: GitUrl = Field(description="the repository URL (https://, ssh://, git@host:..., file://)")
    name: Name | None = Field(default=None, description="default: from the repository name")
    ref: Name | None = Field(default=None, description="branch, tag or commit; default: HEAD's")
    context_dir: str = Field(default="", description="the project's folder in the repository")
    source_secret: Name | None = Field(default=None, description="credentials for a private repo")
    build_env: EnvMap = Field(default_factory=dict)
    env: EnvMap = Field(
        default_factory=dict,
        description="runtime environment; configuration that readers of the app can see",
    )
    secret_env: EnvMap = Field(
        default_factory=dict,
        description="runtime environment kept secret: encrypted at rest, given to the replicas "
        "only; responses name the keys, never the values",
    )
    replicas: int = 1
    cpu: str | None = Field(default=None, description="CPU limit per replica: 500m, 1, 2")
    memory: str | None = Field(default=None, description="memory limit per replica: 512Mi, 1Gi")
    labels: Tags = Field(default_factory=dict)
    route: RouteOptions = Field(default_factory=RouteOptions)


class BuildStart(RequestModel):
    commit: Name | None = Field(default=None, description="build exactly this commit")


class Build(ResponseModel):
    app: str
    number: int
    phase: str
    trigger: str
    ref: str
    commit_sha: str | None = None
    message: str
    environment_key: str | None = None
    environment_reused: bool | None = None
    run_summary: str | None = None
    created_by: str | None = None
    created_at: datetime
    warnings: list[str] = Field(
        default_factory=list, description="what to know about the app as created (create only)"
    )
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float | None = None


class Route(ResponseModel):
    enabled: bool
    hostname: str | None = None
    path: str | None = None
    urls: list[str]


class App(ResponseModel):
    name: str
    git: str
    ref: str
    context_dir: str
    source_secret: str | None = None
    build_env: dict[str, str]
    env: dict[str, str]
    secret_env: list[str] = Field(
        default_factory=list, description="the names of the secret env variables (never values)"
    )
    replicas: int
    cpu: str | None = None
    memory: str | None = None
    labels: dict[str, str]
    route: Route
    serving_build: int | None = Field(description="the build whose revision serves traffic")
    latest_build: Build | None = None
    status: dict[str, Any] | None = Field(
        default=None,
        description="replicas now: phase, ready/desired, restarts, reason, enforced limits",
    )
    created_by: str | None = None
    created_at: datetime
    warnings: list[str] = Field(
        default_factory=list, description="what to know about the app as created (create only)"
    )

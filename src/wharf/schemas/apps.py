"""Wire shapes of apps and builds."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from wharf.schemas.common import RequestModel, ResponseModel
from wharf.states import AppPhase, BuildPhase, ReplicaState


class RouteOptions(RequestModel):
    enabled: bool = Field(default=True, description="false: no route (reachable by no URL)")
    hostname: str | None = Field(default=None, description="a custom host name to answer on")
    path: str | None = Field(default=None, description="a path prefix on the custom host")


class AppCreate(RequestModel):
    git: str = Field(description="the repository URL (https://, ssh://, git@host:..., file://)")
    name: str | None = Field(default=None, description="default: from the repository name")
    ref: str | None = Field(default=None, description="branch, tag or commit; default: HEAD's")
    context_dir: str = Field(default="", description="the project's folder in the repository")
    source_secret: str | None = Field(default=None, description="credentials for a private repo")
    build_env: dict[str, str] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict, description="runtime environment")
    replicas: int = 1
    cpu: str | None = Field(default=None, description="CPU limit per replica: 500m, 1, 2")
    memory: str | None = Field(default=None, description="memory limit per replica: 512Mi, 1Gi")
    labels: dict[str, str] = Field(default_factory=dict)
    route: RouteOptions = Field(default_factory=RouteOptions)


class BuildStart(RequestModel):
    commit: str | None = Field(default=None, description="build exactly this commit")


class Build(ResponseModel):
    app: str
    number: int
    phase: BuildPhase
    trigger: str
    ref: str
    commit_sha: str | None = None
    message: str
    environment_key: str | None = None
    environment_reused: bool | None = None
    run_summary: str | None = None
    created_by: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float | None = None


class Route(ResponseModel):
    enabled: bool
    hostname: str | None = None
    path: str | None = None
    urls: list[str]


class LimitStatus(ResponseModel):
    """One requested limit and whether, and how, this machine enforces it."""

    requested: str = Field(description="as asked for: 256Mi, 500m")
    enforced: bool
    how: str = Field(description="the mechanism, or why the limit is not enforced")


class ReplicaStatus(ResponseModel):
    """One replica of the revision the app status describes."""

    index: int
    state: ReplicaState
    pid: int | None = Field(default=None, description="its main process, while one runs")
    restarts: int


class AppStatus(ResponseModel):
    """What the app's replicas are doing now: those of the serving revision or, before one
    serves, of the revision being rolled out."""

    phase: AppPhase
    revision: str | None = Field(default=None, description="the serving revision (build-N)")
    rolling_out: str | None = Field(default=None, description="a revision being rolled out")
    ready: int
    desired: int
    restarts: int
    reason: str | None = Field(default=None, description="why not Ready, in one word")
    message: str | None = None
    limits: dict[str, LimitStatus] = Field(
        default_factory=dict, description="memory and cpu: requested and enforced"
    )
    last_rollout_failure: str | None = Field(
        default=None, description="why the last rollout failed (the previous revision serves)"
    )
    replicas: list[ReplicaStatus] = Field(default_factory=list)


class App(ResponseModel):
    name: str
    git: str
    ref: str
    context_dir: str
    source_secret: str | None = None
    build_env: dict[str, str]
    env: dict[str, str]
    replicas: int
    cpu: str | None = None
    memory: str | None = None
    labels: dict[str, str]
    route: Route
    serving_build: int | None = Field(description="the build whose revision serves traffic")
    latest_build: Build | None = None
    status: AppStatus | None = Field(
        default=None, description="replicas now (none while the server has no revision of it)"
    )
    created_by: str | None = None
    created_at: datetime

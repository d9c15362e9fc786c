"""Wire shapes of apps and builds."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from wharf.schemas.common import RequestModel, ResponseModel
from wharf.schemas.text import EnvMap, Name, Tags
from wharf.states import AppPhase, BuildPhase, ReplicaState

GitUrl = Annotated[str, StringConstraints(min_length=1, max_length=2048)]

_PATH_MODE = "strip: the app sees paths below the prefix as if mounted at /; keep: whole"
_TLS = "edge: TLS ends at Wharf (needs a server reached over https)"
_INSECURE = "with tls: Redirect (308 to https), Allow, or None (plain http refused; default)"


class RouteOptions(RequestModel):
    enabled: bool = Field(default=True, description="false: no route (reachable by no URL)")
    hostname: str | None = Field(default=None, description="a custom host name to answer on")
    path: str | None = Field(default=None, description="a path prefix on the app's hosts")
    path_mode: Literal["strip", "keep"] | None = Field(default=None, description=_PATH_MODE)
    target_port: int | None = Field(
        default=None, description="the port the app's process listens on (Wharf assigns it)"
    )
    tls: Literal["edge"] | None = Field(default=None, description=_TLS)
    insecure_policy: Literal["Redirect", "Allow", "None"] | None = Field(
        default=None, description=_INSECURE
    )


class RoutePatch(RequestModel):
    """Route settings to change; a missing key stays, null removes it."""

    enabled: bool | None = None
    hostname: str | None = None
    path: str | None = None
    path_mode: Literal["strip", "keep"] | None = Field(default=None, description=_PATH_MODE)
    target_port: int | None = None
    tls: Literal["edge"] | None = Field(default=None, description=_TLS)
    insecure_policy: Literal["Redirect", "Allow", "None"] | None = Field(
        default=None, description=_INSECURE
    )


class AppPatch(RequestModel):
    """A JSON merge patch (RFC 7396) of an app: absent fields stay as they are, ``null``
    removes a setting (a limit, the group, one env variable or label)."""

    replicas: int | None = None
    env: dict[str, str | None] | None = Field(default=None, description="runtime environment")
    build_env: dict[str, str | None] | None = None
    cpu: str | None = None
    memory: str | None = None
    labels: dict[str, str | None] | None = None
    group: str | None = None
    ref: str | None = None
    context_dir: str | None = None
    source_secret: str | None = None
    route: RoutePatch | None = None

    def as_patch(self) -> dict[str, Any]:
        """The fields the caller set, explicit nulls included (they mean 'remove')."""
        return self.model_dump(exclude_unset=True)


class AppChange(ResponseModel):
    field: str
    old: Any = None
    new: Any = None


class AppEvent(ResponseModel):
    kind: str = Field(description="Created, Updated, Scaled, Deployed, RolloutFailed")
    actor: str | None = Field(default=None, description="who: a user, or wharf itself")
    message: str
    changes: list[AppChange]
    created_at: datetime


class Rollout(ResponseModel):
    action: Literal["none", "scale", "restart"] = Field(
        description="scale: replicas added or stopped; restart: the serving build rolled out again"
    )
    succeeded: bool
    message: str


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
    group: Name | None = Field(default=None, description="the application (system) it is part of")
    route: RouteOptions = Field(default_factory=RouteOptions)


class BuildStart(RequestModel):
    commit: Name | None = Field(default=None, description="build exactly this commit")


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
    rollout: str | None = Field(
        default=None,
        description="after Complete: Succeeded once its revision serves, Failed if it never did",
    )
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
    path_mode: str = "strip"
    target_port: int | None = None
    tls: str | None = None
    insecure_policy: str | None = None
    urls: list[str]


class LimitStatus(ResponseModel):
    """One requested limit and whether, and how, this machine enforces it."""

    requested: str = Field(description="as asked for: 256Mi, 500m")
    enforced: bool
    how: str = Field(description="the mechanism, or why the limit is not enforced")


class ReplicaExit(ResponseModel):
    """How a replica's process last ended."""

    reason: str = Field(description="OOMKilled, Error, Completed, Killed or StartFailed")
    message: str


class ReplicaStatus(ResponseModel):
    """One replica of the revision the app status describes."""

    index: int
    state: ReplicaState
    pid: int | None = Field(default=None, description="its main process, while one runs")
    port: int | None = None
    restarts: int
    last_exit: ReplicaExit | None = None


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
    port_note: str | None = Field(default=None, description="which port the replicas serve on")


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
    group: str | None = None
    route: Route
    serving_build: int | None = Field(description="the build whose revision serves traffic")
    latest_build: Build | None = None
    status: AppStatus | None = Field(
        default=None, description="replicas now (none while the server has no revision of it)"
    )
    created_by: str | None = None
    created_at: datetime
    warnings: list[str] = Field(
        default_factory=list, description="what to know about the app as created (create only)"
    )


class AppUpdateResult(ResponseModel):
    """What an update changed, what it needed, and the app now."""

    app: App
    changes: list[AppChange]
    rollout: Rollout
    next_build: bool = Field(
        description="source settings changed: they apply to the next build, not to what serves"
    )
    summary: str

"""SQLAlchemy models: one table per noun. Rules about them live in ``services/``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from wharf.store.types import UTCDateTime, utcnow

# Explicit constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


class Workspace(Base):
    """A tenant: every resource lives in exactly one workspace."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    description: Mapped[str] = mapped_column(String(1024), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """A person or a service account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    """The console password as a scrypt hash (see ``services/passwords.py``); None: no password."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Token(Base):
    """A personal access token. Only a SHA-256 digest of the token is stored."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship()


class ConsoleSession(Base):
    """A signed-in browser. Only a SHA-256 digest of the session cookie is stored."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_id: Mapped[str | None] = mapped_column(
        ForeignKey("tokens.id", ondelete="CASCADE"), default=None
    )
    """The pasted token the session was started with: it ends when the token does."""
    csrf_secret: Mapped[str] = mapped_column(String(64))
    workspace: Mapped[str | None] = mapped_column(String(63), default=None)
    """The workspace the user last looked at (where ``/`` leads)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()

    user: Mapped[User] = relationship()


class LoginThrottle(Base):
    """Failed password sign-ins of one user name from one client, counted in a window."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    """A digest of (user name, client address)."""
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class Role(Base):
    """A custom role of a workspace: a named set of permission strings.

    The built-in roles (owner, contributor, data-scientist, reader) are defined in code,
    not stored, so that upgrades can extend them.
    """

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    description: Mapped[str] = mapped_column(String(1024), default="")
    permissions: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Membership(Base):
    """A user's role in a workspace (one role per user and workspace)."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(63))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
    workspace: Mapped[Workspace] = relationship()


class Datastore(Base):
    """A named storage root of a workspace. Credentials are stored encrypted, never returned."""

    __tablename__ = "datastores"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(1024), default="")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    credentials_ciphertext: Mapped[str | None] = mapped_column(Text, default=None)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str | None] = mapped_column(String(63), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssetContainer(Base):
    """A data asset or model by name; holds the counter that numbers its versions."""

    __tablename__ = "asset_containers"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255))
    next_version: Mapped[int] = mapped_column(Integer, default=1)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssetVersion(Base):
    """One immutable version of a data asset or model: where its files are and what they are."""

    __tablename__ = "asset_versions"
    __table_args__ = (UniqueConstraint("container_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    container_id: Mapped[int] = mapped_column(
        ForeignKey("asset_containers.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    flavor: Mapped[str | None] = mapped_column(String(32), default=None)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """What the files declare: an MLflow model's signature, flavours and requirements."""
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str | None] = mapped_column(String(63), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    container: Mapped[AssetContainer] = relationship()


class App(Base):
    """An online endpoint built from a git repository and served behind a route."""

    __tablename__ = "apps"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    git_url: Mapped[str] = mapped_column(Text)
    git_ref: Mapped[str] = mapped_column(String(255))
    """The branch, tag or commit to build; the remote's default branch when created without."""
    context_dir: Mapped[str] = mapped_column(String(1024), default="")
    source_secret: Mapped[str | None] = mapped_column(String(255), default=None)
    build_env: Mapped[dict[str, Any]] = mapped_column(default=dict)
    runtime_env: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secret_env_keys: Mapped[list[str]] = mapped_column(default=list)
    """The names of the app's secret env variables (shown); their values are in ``secret_env``."""
    secret_env: Mapped[str | None] = mapped_column(Text, default=None)
    """The secret env as JSON, encrypted with the platform key; only replicas see it."""
    replicas: Mapped[int] = mapped_column(Integer, default=1)
    cpu: Mapped[str | None] = mapped_column(String(32), default=None)
    memory: Mapped[str | None] = mapped_column(String(32), default=None)
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    group: Mapped[str | None] = mapped_column(String(63), default=None, index=True)
    """The application (system) the app belongs to, as OpenShift's *Application* field."""
    route: Mapped[dict[str, Any]] = mapped_column(default=dict)
    next_build: Mapped[int] = mapped_column(Integer, default=1)
    serving_build: Mapped[int | None] = mapped_column(Integer, default=None)
    """The number of the build whose revision serves traffic (None until one is Complete)."""
    webhook_secret: Mapped[str | None] = mapped_column(Text, default=None)
    """The secret in the app's webhook URLs, encrypted with the platform key."""
    webhook_signing_secret: Mapped[str | None] = mapped_column(Text, default=None)
    """When set (encrypted), webhook calls must also carry the provider's signature."""
    created_by: Mapped[str | None] = mapped_column(String(63), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Build(Base):
    """One numbered build of an app: source at a commit, an environment, a run command."""

    __tablename__ = "builds"
    __table_args__ = (UniqueConstraint("app_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    phase: Mapped[str] = mapped_column(String(16), index=True)
    trigger: Mapped[str] = mapped_column(String(32))
    git_ref: Mapped[str] = mapped_column(String(255))
    commit_sha: Mapped[str | None] = mapped_column(String(64), default=None)
    message: Mapped[str] = mapped_column(Text, default="")
    """Why the build ended as it did, in plain words."""
    environment_key: Mapped[str | None] = mapped_column(String(64), default=None)
    environment_reused: Mapped[bool | None] = mapped_column(Boolean, default=None)
    run_summary: Mapped[str | None] = mapped_column(Text, default=None)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    rollout: Mapped[str | None] = mapped_column(String(16), default=None)
    """After Complete: ``Succeeded`` once its revision takes traffic, ``Failed`` when it never
    got ready (the message says why); None before it is rolled out."""
    created_by: Mapped[str | None] = mapped_column(String(63), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    app: Mapped[App] = relationship()


class AppEvent(Base):
    """One change to an app: who made it, when, and each field's old and new value."""

    __tablename__ = "app_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    """``Created``, ``Updated``, ``Scaled``, ``Deployed``, ``DeployFailed``."""
    actor: Mapped[str | None] = mapped_column(String(63), default=None)
    message: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """``[{"field": "env.X", "old": ..., "new": ...}]``; values of secrets are never kept."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One call of an app's webhook URL and what Wharf did with it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("app_id", "provider", "delivery_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[str | None] = mapped_column(String(128), default=None)
    """The provider's id for the delivery; a second delivery with the same id builds nothing."""
    event: Mapped[str] = mapped_column(String(64), default="")
    result: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")
    commit_sha: Mapped[str | None] = mapped_column(String(64), default=None)
    build_number: Mapped[int | None] = mapped_column(Integer, default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class SourceSecret(Base):
    """Credentials for a private git repository, referenced by name from apps."""

    __tablename__ = "source_secrets"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    kind: Mapped[str] = mapped_column(String(16))
    """``basic-auth`` (username and password or token) or ``ssh`` (a private key)."""
    sealed: Mapped[str] = mapped_column(Text)
    """The credentials as JSON, encrypted with the platform key."""
    created_by: Mapped[str | None] = mapped_column(String(63), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BatchEndpoint(Base):
    """A stable name that batch jobs are created against; one of its deployments is the default."""

    __tablename__ = "batch_endpoints"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    default_deployment: Mapped[str | None] = mapped_column(String(32), default=None)
    created_by: Mapped[str | None] = mapped_column(String(63), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class BatchDeployment(Base):
    """How an endpoint scores: its code (copied under the data dir), environment and settings."""

    __tablename__ = "batch_deployments"
    __table_args__ = (UniqueConstraint("endpoint_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("batch_endpoints.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    """``scoring_script``, ``model_project`` or ``component``."""
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    code_reference: Mapped[str] = mapped_column(Text)
    scoring_script: Mapped[str | None] = mapped_column(String(1024), default=None)
    entry: Mapped[str | None] = mapped_column(String(255), default=None)
    component: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Declared ``inputs`` and ``outputs`` of a component."""
    model_reference: Mapped[str | None] = mapped_column(Text, default=None)
    requirements: Mapped[list[str]] = mapped_column(default=list)
    environment_source: Mapped[str] = mapped_column(String(16), default="none")
    environment_key: Mapped[str] = mapped_column(String(64))
    environment_reused: Mapped[bool] = mapped_column(Boolean, default=False)
    environment_notes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """What the environment could not honour: a conda file's python and other packages."""
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    folder: Mapped[str] = mapped_column(Text)
    """This revision's local folder: ``code/`` and ``environment/`` (what the env installs)."""
    created_by: Mapped[str | None] = mapped_column(String(63), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    endpoint: Mapped[BatchEndpoint] = relationship()


class Job(Base):
    """One invocation of a batch endpoint. ``spec`` is a snapshot of everything the job runs
    with, so changing or deleting its deployment later does not change the job."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        UniqueConstraint("workspace_id", "endpoint", "idempotency_key"),
        # Lists page newest first without sorting every job; the filters' pickers read
        # their distinct values from an index instead of the rows.
        Index("ix_jobs_workspace_newest", "workspace_id", "id"),
        Index("ix_jobs_workspace_deployment", "workspace_id", "deployment"),
        Index("ix_jobs_workspace_experiment", "workspace_id", "experiment_name"),
        Index("ix_jobs_workspace_created_by", "workspace_id", "created_by"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    endpoint: Mapped[str] = mapped_column(String(32))
    deployment: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    experiment_name: Mapped[str] = mapped_column(String(255))
    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """A pipeline job's steps: name, status, times, error, log file."""
    error: Mapped[str | None] = mapped_column(Text, default=None)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    resumed: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str | None] = mapped_column(String(63), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    first_mini_batch_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the first mini-batch was handed to a worker (the first run of the job)."""
    first_run_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the first ``run()``/``predict()`` call started (after the workers' ``init()``)."""


class JobMiniBatch(Base):
    """The durable state of one mini-batch of a job (the engine's state store)."""

    __tablename__ = "job_mini_batches"
    __table_args__ = (UniqueConstraint("job_id", "batch_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    batch_id: Mapped[int] = mapped_column(Integer)
    items: Mapped[list[Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    staged_path: Mapped[str | None] = mapped_column(Text, default=None)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    last_failure: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class Workbench(Base):
    """One user's JupyterLab in one workspace: its settings, its state, its own token."""

    __tablename__ = "workbenches"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(63))
    requirements: Mapped[str] = mapped_column(Text, default="")
    """Extra requirements (requirements.txt lines) installed beside JupyterLab."""
    cpu: Mapped[str | None] = mapped_column(String(16), default=None)
    memory: Mapped[str | None] = mapped_column(String(16), default=None)
    idle_timeout_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    source_secret: Mapped[str | None] = mapped_column(String(63), default=None)
    phase: Mapped[str] = mapped_column(String(16), default="Stopped")
    message: Mapped[str] = mapped_column(Text, default="")
    token_id: Mapped[str | None] = mapped_column(String(32), default=None)
    sealed_token: Mapped[str | None] = mapped_column(Text, default=None)
    """The workbench's own Wharf token (``WHARF_TOKEN`` inside it), encrypted."""
    environment_key: Mapped[str | None] = mapped_column(String(64), default=None)
    last_activity: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
    workspace: Mapped[Workspace] = relationship()

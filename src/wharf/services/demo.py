"""``wharf up --demo``: a sample of everything, made through the same services as the API.

A model project in a local git repository (``demo_project``), an app built from it, a data
asset of patients as CSV files, a batch endpoint whose deployment is the project's ``predict``
(per row), and one job. Idempotent: each part is looked up by name first and reused when it
exists (the job by its idempotency key), so a second run adds nothing.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from wharf.errors import NotFound
from wharf.runtime.registry import AppRegistry
from wharf.services import (
    apps,
    assets,
    auth,
    batch_deployments,
    batch_endpoints,
    bootstrap,
    builds,
    catalog,
    datastores,
    demo_project,
    deployments,
    job_invoke,
    jobs,
    passwords,
    users,
    workspaces,
)
from wharf.services.platform import Platform
from wharf.states import AppPhase, BuildPhase, JobStatus
from wharf.store.models import Workspace

WORKSPACE = workspaces.DEFAULT_WORKSPACE
APP = "heart-risk"
DATA = "heart-patients"
ENDPOINT = "heart-risk"
DEPLOYMENT = "rules"
JOB_KEY = "wharf-demo-first-job"
"""The idempotency key of the demo's job: a second run finds the job the first one made."""
DATASTORE = "default"
DATA_FOLDER = "demo/heart-patients"
CODE_FOLDER = "demo/heart-risk-project"
_POLL_SECONDS = 0.2


@dataclass
class Demo:
    """What the demo consists of, and what this run added to it."""

    app: str = APP
    data: str = DATA
    endpoint: str = ENDPOINT
    job: str = ""
    added: list[str] = field(default_factory=list)
    """What was created now, in words ("app heart-risk"); empty when everything existed."""
    admin_password: str | None = None
    """The admin's console password when this run set it (shown once); None when the admin
    already had one."""


@dataclass(frozen=True)
class DemoState:
    """Where the demo stands: its app's latest build and replicas, and its job."""

    build: BuildPhase | None
    build_number: int | None
    build_message: str
    app_phase: AppPhase
    app_urls: list[str]
    job_status: JobStatus
    job_error: str | None

    @property
    def app_ready(self) -> bool:
        return self.app_phase is AppPhase.READY

    @property
    def settled(self) -> bool:
        """Nothing more will change by waiting: the app serves (or its build ended without
        serving) and the job has ended."""
        build_over = (
            self.build is not None and self.build.ended and self.build is not BuildPhase.COMPLETE
        )
        return (self.app_ready or build_over) and self.job_status.ended


def set_up_demo(
    platform: Platform, registry: AppRegistry, *, step: Callable[[str], None] = lambda _: None
) -> Demo:
    """Create what is missing of the demo (as the admin, in the default workspace) and start
    its build and its job. ``step`` hears a line before each part is made."""
    demo = Demo()
    with platform.transaction() as session:
        admin = users.read_user(session, bootstrap.ADMIN_USER)
        principal = auth.Principal(user_id=admin.id, user_name=admin.name, is_admin=True)
        if admin.password_hash is None:
            demo.admin_password = secrets.token_urlsafe(12)
            passwords.set_password(session, principal, admin.name, demo.admin_password)
    project = demo_project.create_project_repository(platform.settings.data_dir / "demo")
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, WORKSPACE)
        if _missing(lambda: apps.read_app(session, workspace, APP)):
            step(f"creating the app {APP} from {project} (Build #1)")
            _create_app(session, platform, registry, workspace, project.as_uri())
            demo.added.append(f"app {APP}")
        if _missing(lambda: assets.read_container(session, workspace, "data", DATA)):
            step(f"registering the data asset {DATA} ({demo_project.FILES} CSV files)")
            _create_data(session, platform, principal, workspace)
            demo.added.append(f"data asset {DATA}")
        if _missing(lambda: batch_endpoints.read_endpoint(session, workspace, ENDPOINT)):
            batch_endpoints.create_endpoint(
                session,
                workspace,
                ENDPOINT,
                description="Heart risk for every patient of a data asset (the Wharf demo)",
                created_by=principal.user_name,
            )
            demo.added.append(f"batch endpoint {ENDPOINT}")
        _upload_code_if_needed(session, platform, workspace)
    platform.build_runner.wake()
    if _missing_deployment(platform):
        step(f"creating the batch deployment {DEPLOYMENT} (the project's predict, per row)")
        batch_deployments.save_deployment(
            platform, principal, WORKSPACE, ENDPOINT, _deployment_spec(), replace=False
        )
        demo.added.append(f"batch deployment {DEPLOYMENT}")
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, WORKSPACE)
        job, created = job_invoke.invoke_endpoint(
            session,
            platform,
            principal,
            workspace,
            ENDPOINT,
            job_invoke.InvokeSpec(
                inputs={"patients": job_invoke.InputValue("uri_folder", f"data:{DATA}@latest")},
                experiment_name="demo",
            ),
            idempotency_key=JOB_KEY,
        )
        demo.job = job.name
    if created:
        step(f"invoking {ENDPOINT}: job {demo.job}")
        demo.added.append(f"job {demo.job}")
    platform.job_runner.wake()
    return demo


def _missing(read: Callable[[], object]) -> bool:
    try:
        read()
    except NotFound:
        return True
    return False


def _create_app(
    session: Session, platform: Platform, registry: AppRegistry, workspace: Workspace, url: str
) -> None:
    spec = apps.AppSpec(git_url=url, name=APP, ref=demo_project.BRANCH)
    settings = platform.settings
    app, _ = apps.create_app(
        session,
        workspace,
        spec,
        created_by=bootstrap.ADMIN_USER,
        secrets=platform.secrets,
        allow_local_git=settings.allow_local_git,
        serves_https=settings.https_url is not None,
    )
    deployments.register_route(registry, workspace.name, app)


def _create_data(
    session: Session, platform: Platform, principal: auth.Principal, workspace: Workspace
) -> None:
    store = datastores.open_named_datastore(session, platform, workspace, DATASTORE)
    for name, content in demo_project.patient_files().items():
        store.write_bytes(f"{DATA_FOLDER}/{name}", content)
    catalog.create_data_version(
        session,
        platform,
        principal,
        workspace,
        DATA,
        type="uri_folder",
        path=f"wharf://datastores/{DATASTORE}/paths/{DATA_FOLDER}",
        description="Sample patients: age, blood pressure, cholesterol, smoking, diabetes",
    )


def _upload_code_if_needed(session: Session, platform: Platform, workspace: Workspace) -> None:
    """The project's files where the deployment reads its code (as the CLI uploads a folder)."""
    store = datastores.open_named_datastore(session, platform, workspace, DATASTORE)
    if store.exists(CODE_FOLDER):
        return
    project = platform.settings.data_dir / "demo" / "heart_risk"
    for name, content in demo_project.project_files(project).items():
        store.write_bytes(f"{CODE_FOLDER}/{name}", content)


def _missing_deployment(platform: Platform) -> bool:
    with platform.transaction() as session:
        endpoint = batch_endpoints.read_endpoint(
            session, workspaces.read_workspace(session, WORKSPACE), ENDPOINT
        )
        return _missing(lambda: batch_deployments.read_deployment(session, endpoint, DEPLOYMENT))


def _deployment_spec() -> batch_deployments.DeploymentSpec:
    return batch_deployments.DeploymentSpec(
        name=DEPLOYMENT,
        description="Heart Risk's predict, called for each patient",
        code=f"wharf://datastores/{DATASTORE}/paths/{CODE_FOLDER}",
        settings={"mini_batch_size": 1},
    )


def read_demo_state(platform: Platform, registry: AppRegistry, demo: Demo) -> DemoState:
    settings = platform.settings
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, WORKSPACE)
        app = apps.read_app(session, workspace, demo.app)
        latest = builds.latest_build(session, app)
        job = jobs.read_job(session, workspace, demo.job)
        route = apps.describe_route(
            app, WORKSPACE, settings.plain_url, settings.apps_domain, https_url=settings.https_url
        )
        status = deployments.runtime_status(registry, WORKSPACE, demo.app)
        return DemoState(
            build=None if latest is None else BuildPhase(latest.phase),
            build_number=None if latest is None else latest.number,
            build_message="" if latest is None else latest.message or "",
            app_phase=AppPhase.NOT_DEPLOYED if status is None else status.phase,
            app_urls=list(route["urls"]),
            job_status=JobStatus(job.status),
            job_error=job.error,
        )


def wait_for_demo(
    platform: Platform,
    registry: AppRegistry,
    demo: Demo,
    *,
    timeout: float,
    stopping: Callable[[], bool] = lambda: False,
) -> DemoState:
    """Wait until the app serves and the job has ended (or either cannot), ``timeout`` seconds
    at most, or until ``stopping()``; returns where things stand then."""
    deadline = time.monotonic() + timeout
    state = read_demo_state(platform, registry, demo)
    while not state.settled and time.monotonic() < deadline and not stopping():
        time.sleep(_POLL_SECONDS)
        state = read_demo_state(platform, registry, demo)
    return state

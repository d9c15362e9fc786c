"""What ``/metrics`` and the deep health check read at the moment they are asked."""

from __future__ import annotations

from sqlalchemy import func, select

from wharf.metrics import AppReplicas, PlatformState
from wharf.runtime.registry import AppRegistry
from wharf.runtime.routes import AppKey
from wharf.services.platform import Platform
from wharf.states import BuildPhase, JobStatus
from wharf.store.models import App, Build, Job, Workspace


def read_platform_state(platform: Platform, registry: AppRegistry) -> PlatformState:
    """Builds by phase, jobs by state, both queues, and every app's replicas: three queries,
    and no I/O for the replicas (the registry keeps them in memory). An app that serves a
    build wants its ``replicas``, whether or not the runtime runs them."""
    with platform.transaction() as session:
        phases = session.execute(select(Build.phase, func.count()).group_by(Build.phase))
        by_phase: dict[str, int] = {str(phase): int(count) for phase, count in phases}
        states = session.execute(select(Job.status, func.count()).group_by(Job.status))
        by_state: dict[str, int] = {str(state): int(count) for state, count in states}
        wanted = {
            AppKey(workspace, name): replicas if serving is not None else 0
            for workspace, name, replicas, serving in session.execute(
                select(Workspace.name, App.name, App.replicas, App.serving_build).join(
                    Workspace, Workspace.id == App.workspace_id
                )
            )
        }
    apps = []
    for key, desired in sorted(wanted.items()):
        status = registry.status(key)
        serving = None if status is None else status.serving
        apps.append(
            AppReplicas(
                workspace=key.workspace,
                app=key.app,
                ready=serving.ready if serving else 0,
                desired=desired,
                restarts=serving.restarts if serving else 0,
            )
        )
    return PlatformState(
        builds_by_phase=by_phase,
        jobs_by_state=by_state,
        build_queue=by_phase.get(BuildPhase.PENDING, 0),
        job_queue=by_state.get(JobStatus.QUEUED, 0),
        apps=apps,
    )

"""Every state Wharf reports, one enumeration each: builds, jobs, replicas, an app's replicas.

Services, the store's rows, the API's schemas, the SDK and the CLI all use these, so a state
is written in one place; whether something "has ended" is asked of its state. The values are
the words the API has always sent (``Complete``, ``CancelRequested``, ``OOMKilled``).
"""

from __future__ import annotations

from enum import StrEnum


class BuildPhase(StrEnum):
    """New → Pending → Running → Complete, or Failed (the source or its requirements are
    wrong), Error (Wharf could not finish), or Cancelled."""

    NEW = "New"
    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETE = "Complete"
    FAILED = "Failed"
    ERROR = "Error"
    CANCELLED = "Cancelled"

    @property
    def ended(self) -> bool:
        """Whether the build is over: it will not change again."""
        return self in _BUILD_ENDED


_BUILD_ENDED = frozenset(
    {BuildPhase.COMPLETE, BuildPhase.FAILED, BuildPhase.ERROR, BuildPhase.CANCELLED}
)


class JobStatus(StrEnum):
    """Queued → Preparing → Running → Finalizing → Completed | Failed;
    Queued → Canceled; Preparing/Running/Finalizing → CancelRequested → Canceled."""

    QUEUED = "Queued"
    PREPARING = "Preparing"
    RUNNING = "Running"
    FINALIZING = "Finalizing"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCEL_REQUESTED = "CancelRequested"
    CANCELED = "Canceled"

    @property
    def ended(self) -> bool:
        """Whether the job is over: it will not change again."""
        return self in _JOB_ENDED

    @property
    def started(self) -> bool:
        """Whether the job holds a runner (Preparing, Running or Finalizing)."""
        return self in _JOB_STARTED


_JOB_ENDED = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED})
_JOB_STARTED = frozenset({JobStatus.PREPARING, JobStatus.RUNNING, JobStatus.FINALIZING})


class ReplicaState(StrEnum):
    """What one replica of an app is doing."""

    STARTING = "Starting"
    """Spawned for the first time; not answering HTTP yet."""
    READY = "Ready"
    """Answers HTTP: receives traffic."""
    CRASHED = "Crashed"
    """Exited on its own; waiting out the backoff before it is started again."""
    OOM_KILLED = "OOMKilled"
    """Killed for going over its memory limit; waiting out the backoff."""
    RESTARTING = "Restarting"
    """Spawned again after an exit; not answering HTTP yet."""
    STOPPED = "Stopped"
    """Stopped on purpose; its processes are gone."""

    @property
    def exited(self) -> bool:
        """Whether its process exited on its own and waits to be started again."""
        return self in (ReplicaState.CRASHED, ReplicaState.OOM_KILLED)


class AppPhase(StrEnum):
    """What an app's replicas (of one revision) are doing, together."""

    NOT_DEPLOYED = "NotDeployed"
    """No revision serves or is being rolled out."""
    PROGRESSING = "Progressing"
    """Some replicas are still starting."""
    READY = "Ready"
    """Every replica answers."""
    DEGRADED = "Degraded"
    """Some replicas exited and wait to restart."""
    STOPPED = "Stopped"
    """Every replica is stopped."""


class WorkbenchPhase(StrEnum):
    """Stopped → Starting → Running → Stopping → Stopped, or Failed (its environment or
    JupyterLab did not start; the message says why)."""

    STOPPED = "Stopped"
    STARTING = "Starting"
    RUNNING = "Running"
    STOPPING = "Stopping"
    FAILED = "Failed"

    @property
    def active(self) -> bool:
        """Whether a JupyterLab process runs or is being started for it."""
        return self in (WorkbenchPhase.STARTING, WorkbenchPhase.RUNNING)

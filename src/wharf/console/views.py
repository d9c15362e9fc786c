"""How apps and builds read on the console: the API's shapes put into OpenShift's words.

Pages load an app exactly as its JSON twin does (``app_detail``, the API's own function over
the same services) and hand templates these small views of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from wharf.schemas import apps as schemas
from wharf.states import AppPhase, BuildPhase

BUILD_WORDS = {
    BuildPhase.NEW: "is new",
    BuildPhase.PENDING: "is pending",
    BuildPhase.RUNNING: "is running",
    BuildPhase.COMPLETE: "is complete",
    BuildPhase.FAILED: "failed",
    BuildPhase.ERROR: "encountered an error",
    BuildPhase.CANCELLED: "was cancelled",
}

TRIGGER_WORDS = {
    "created": "App created",
    "manual": "Manual build",
    "rebuild": "Rebuild",
}

_RING_RADIUS = 15.9155  # a circumference of 100: the dash length is the percentage


def build_sentence(build: schemas.Build) -> str:
    """``Build #3 is running``, ``Build #2 is complete``, ``Build #1 failed``."""
    return f"Build #{build.number} {BUILD_WORDS[BuildPhase(build.phase)]}"


def build_message(build: schemas.Build) -> str | None:
    """The build's message when it says more than its sentence (a failure's reason), else
    None: ``Build #2 is complete`` under the heading ``Build #2 is complete`` adds nothing."""
    if not build.message or build.message.startswith(build_sentence(build)):
        return None
    return build.message


def trigger_words(build: schemas.Build) -> str:
    """Who or what started a build: ``Manual build by ann``, ``Github webhook``."""
    if build.trigger.startswith("webhook:"):
        what = f"{build.trigger.removeprefix('webhook:').capitalize()} webhook"
    else:
        what = TRIGGER_WORDS.get(build.trigger, build.trigger)
    return f"{what} by {build.created_by}" if build.created_by else what


def can_cancel(build: schemas.Build) -> bool:
    return not BuildPhase(build.phase).ended


@dataclass(frozen=True)
class Ring:
    """The ready/desired donut of a card: an SVG circle's dash, and what it says."""

    dash: float
    label: str
    ready: int
    desired: int

    @property
    def radius(self) -> float:
        return _RING_RADIUS


def ring(app: schemas.App) -> Ring:
    status = app.status
    deployed = status is not None and status.phase != AppPhase.NOT_DEPLOYED
    ready = status.ready if status and deployed else 0
    desired = status.desired if status and deployed else app.replicas
    share = 0.0 if desired == 0 else min(1.0, ready / desired)
    dash = math.floor(share * 1000) / 10
    pods = "pod" if desired == 1 else "pods"
    return Ring(dash, f"{ready} of {desired} {pods} ready", ready, desired)


def activity(app: schemas.App) -> str:
    """``Active``, ``Updating``, ``Degraded``, ``Stopped``, or ``Waiting for the build``."""
    status = app.status
    if app.serving_build is None and (status is None or status.rolling_out is None):
        return "Waiting for the build"
    if status is None:
        return "Updating"
    if status.rolling_out is not None or status.phase == AppPhase.PROGRESSING:
        return "Updating"
    if status.phase == AppPhase.DEGRADED:
        return "Degraded"
    if status.phase == AppPhase.STOPPED or (status.desired == 0 and app.replicas == 0):
        return "Stopped"
    return "Active"


def pods_note(app: schemas.App) -> str | None:
    """What the Pods section says above the pods: the build rolling out, or that no build has
    completed yet; None when the pods speak for themselves."""
    status = app.status
    if status is not None and status.rolling_out is not None:
        number = status.rolling_out.removeprefix("build-")
        return f"Build #{number} is complete; rolling out ({ring(app).label})."
    if app.serving_build is None:
        return "Waiting for the build: no build has completed yet, so nothing runs."
    return None


def open_url(app: schemas.App) -> str | None:
    """The URL ``Open URL`` opens: the app's path on this server, which always resolves."""
    return app.route.urls[0] if app.route.enabled and app.route.urls else None


def source_link(app: schemas.App) -> str | None:
    """The git URL as a link when a browser can open it (https), else None."""
    return app.git if app.git.startswith(("https://", "http://")) else None

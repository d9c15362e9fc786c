"""``wharf up --demo``: set up the demo beside the starting server, then say where to look."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.markup import escape

from wharf.cli._output import console

if TYPE_CHECKING:
    from fastapi import FastAPI

    from wharf.services.demo import Demo, DemoState

DEMO_TIMEOUT = 900.0
"""How long the demo waits for its build and job (a cold package cache downloads Flask)."""
FIRST_START_HINT = (
    "New here? Stop this (Ctrl-C) and start 'wharf up --demo' (or 'make up DEMO=1'): it adds a "
    "sample app, data asset, batch endpoint and job, and prints where to look."
)
logger = logging.getLogger("wharf.demo")


def say(line: str, *, as_json: bool) -> None:
    """A line for the person at the terminal, or a log record when the server logs JSON."""
    if as_json:
        logger.info(line)
    else:
        console.print(escape(line), highlight=False, soft_wrap=True)


def run_demo(app: FastAPI, stopping: Callable[[], bool]) -> None:
    """Set up the demo on the running server's own platform, wait for it, print the summary.
    A demo that cannot be set up is reported; the server keeps serving."""
    from wharf.errors import ServiceError
    from wharf.services.demo import set_up_demo, wait_for_demo

    started = time.monotonic()
    platform, registry = app.state.platform, app.state.registry
    as_json = platform.settings.log_format == "json"
    try:
        demo = set_up_demo(
            platform, registry, step=lambda line: say(f"  demo      {line}", as_json=as_json)
        )
    except ServiceError as exc:
        say(f"The demo could not be set up: {exc}", as_json=as_json)
        return
    except Exception:  # a bug: the server stays up, the log has the traceback
        logger.exception("the demo could not be set up")
        return
    say("  demo      waiting for the app to serve and the job to finish", as_json=as_json)
    state = wait_for_demo(platform, registry, demo, timeout=DEMO_TIMEOUT, stopping=stopping)
    if not stopping():
        took = time.monotonic() - started
        for line in summary(platform.settings.effective_public_url, demo, state, took):
            say(line, as_json=as_json)


def summary(url: str, demo: Demo, state: DemoState, took: float) -> list[str]:
    """What the demo is, where to look, and what to try next."""
    done = state.app_ready and state.job_status == "Completed"
    added = f"added {', '.join(demo.added)}" if demo.added else "it existed: nothing added"
    app_url = state.app_urls[0] if state.app_urls else f"{url}/apps/default/{demo.app}/"
    job = f"{demo.job}: {state.job_status}" + (f" ({state.job_error})" if state.job_error else "")
    example = '{"age": 61, "systolic_bp": 150, "cholesterol": 250, "smoker": 1}'
    return [
        f"Demo {'ready' if done else 'not ready'} after {took:.0f} s ({added})",
        f"  app       {demo.app}: {app_url} ({_app_line(state)})",
        f"  job       {job}",
        f"  console   {url}/",
        f"  sign in   {_sign_in_line(demo)}",
        "Try next:",
        f"  curl -s -H 'Content-Type: application/json' -d '{example}' {app_url}predictions",
        f"  wharf job download {demo.job} --output-name score --path .",
        f"  wharf batch-endpoint invoke --name {demo.endpoint} "
        f"--input data:{demo.data}@latest --input-type uri_folder",
    ]


def _app_line(state: DemoState) -> str:
    build = f"Build #{state.build_number} {state.build}"
    if state.app_ready:
        return f"{build}, serving"
    if state.build is not None and state.build.ended:
        return f"{build}: {state.build_message}"
    return f"{build}, {state.app_phase}"


def _sign_in_line(demo: Demo) -> str:
    if demo.admin_password is not None:
        return (
            f"user admin, password {demo.admin_password} (shown this once; change it with "
            "'wharf user set-password admin')"
        )
    return (
        "user admin, with the password printed when the demo first ran (forgot it? "
        "'wharf user set-password admin')"
    )

"""Telling an ASGI app from a WSGI app, by asking the app's own environment."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from wharf.build.uv import Log
from wharf.sandbox import NO_SANDBOX, Sandbox, SandboxProfile

Interface = Literal["wsgi", "asgi"]

# Runs inside the app's environment: import the app the way gunicorn would, then look at
# how it is called. An ASGI app is awaited (``async def __call__(scope, receive, send)``).
_PROBE = """
import importlib, inspect, sys
module_name, _, attribute = sys.argv[1].partition(":")
app = getattr(importlib.import_module(module_name), attribute or "application")
call = app if inspect.isroutine(app) else type(app).__call__
print("\\nwharf-interface=" + ("asgi" if inspect.iscoroutinefunction(call) else "wsgi"))
"""
_MARK = "wharf-interface="


def probe_interface(
    env_dir: Path,
    app_module: str,
    *,
    cwd: Path,
    env: Mapping[str, str],
    log: Log,
    sandbox: Sandbox = NO_SANDBOX,
    profile: SandboxProfile | None = None,
) -> Interface:
    """``asgi`` or ``wsgi`` for ``module:attribute``; ``wsgi`` when the probe cannot tell.

    Importing the app runs its code: in ``sandbox``, seeing what ``profile`` allows."""
    if "(" in app_module:  # an app factory call: importing it would not show the app
        return "wsgi"
    try:
        argv = [str(env_dir / "bin" / "python"), "-c", _PROBE, app_module]
        done = subprocess.run(
            sandbox.command(profile or SandboxProfile(cwd, (env_dir,)), argv),
            cwd=cwd,
            start_new_session=True,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=300,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log(f"could not import {app_module} to tell ASGI from WSGI ({exc}); assuming WSGI")
        return "wsgi"
    marks = [line for line in done.stdout.splitlines() if line.startswith(_MARK)]
    if done.returncode != 0 or not marks:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        log(f"could not import {app_module} to tell ASGI from WSGI ({last}); assuming WSGI")
        return "wsgi"
    return "asgi" if marks[-1] == _MARK + "asgi" else "wsgi"

"""The run command of a project, in the order of OpenShift's Python S2I builder.

1. ``APP_SCRIPT`` (default ``app.sh``): executed directly.
2. ``APP_FILE`` (default ``app.py``): run with the environment's ``python``.
3. gunicorn, when the environment has it, with ``APP_MODULE`` (default ``wsgi:application``
   when ``wsgi.py`` exists) and ``APP_CONFIG`` (a gunicorn config file). An ASGI app gets a
   uvicorn worker.

As in newer S2I images, the ``app.sh`` / ``app.py`` defaults apply only when none of
``APP_SCRIPT``, ``APP_FILE`` and ``APP_MODULE`` is set, so a stray ``app.py`` cannot take over
an app that names its module; an empty value switches a step off.

Wharf owns the port: gunicorn gets ``--bind HOST:PORT`` on its command line, which wins over
a config file and ``GUNICORN_CMD_ARGS``, and the process gets ``PORT`` and ``GUNICORN_BIND``
with the same address for apps (and config files) that read them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from wharf.build.interfaces import Interface, probe_interface
from wharf.build.packages import has_package, installed_version
from wharf.build.s2i_environment import S2I_ENVIRONMENT_FILE, read_s2i_environment
from wharf.build.uv import Log
from wharf.errors import Invalid
from wharf.sandbox import NO_SANDBOX, Sandbox, SandboxProfile

Strategy = Literal["app-script", "app-file", "gunicorn"]

# Variables of the caller's own Python environment that must not leak into the app's.
_FOREIGN = ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP")


@dataclass(frozen=True)
class RunCommand:
    """How to start one replica of an app: what to execute, with which variables, where."""

    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: Path
    strategy: Strategy
    summary: str
    """One line for people: ``gunicorn wsgi:application (config gunicorn_config.py)``."""


def _discard(line: str) -> None:
    pass


def run_profile(source_root: Path, env_dir: Path, cwd: Path) -> SandboxProfile:
    """What an app's processes see: its checked-out source and its environment, read-only,
    and a private /tmp; nothing else of the server's disk."""
    return SandboxProfile(cwd=cwd, read_only=(source_root, env_dir))


def format_bind(host: str, port: int) -> str:
    """A gunicorn bind address (IPv6 hosts in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _process_env(
    base_env: Mapping[str, str],
    app_env: Mapping[str, str],
    env_dir: Path,
    project_dir: Path,
    cwd: Path,
    bind: str,
    port: int,
) -> dict[str, str]:
    env = {k: v for k, v in base_env.items() if k not in _FOREIGN}
    env.update(app_env)
    env["VIRTUAL_ENV"] = str(env_dir)
    env["PATH"] = os.pathsep.join([str(env_dir / "bin"), env.get("PATH", os.defpath)])
    # As the S2I Python image does: logs appear at once, in UTF-8.
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("PYTHONIOENCODING", "UTF-8")
    # Wharf scales an app by replicas; one worker each unless the app asks for more.
    env.setdefault("WEB_CONCURRENCY", "1")
    if cwd != project_dir:  # APP_HOME: the source root stays importable, as in S2I
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(project_dir), app_env.get("PYTHONPATH", "")) if p
        )
    env["PORT"] = str(port)
    env["GUNICORN_BIND"] = bind
    return env


def _default_step(settings: Mapping[str, str], name: str, default: str) -> tuple[str, bool]:
    """The file a step names, and whether it was named on purpose (missing is an error)."""
    if name in settings:
        return settings[name], True
    if any(k in settings for k in ("APP_SCRIPT", "APP_FILE", "APP_MODULE")):
        return "", False
    return default, False


def plan_run(
    project_dir: Path,
    env_dir: Path,
    port: int,
    *,
    host: str = "127.0.0.1",
    base_env: Mapping[str, str] | None = None,
    runtime_env: Mapping[str, str] | None = None,
    interface: Interface | None = None,
    log: Log = _discard,
    sandbox: Sandbox = NO_SANDBOX,
) -> RunCommand:
    """The command that runs the project in ``project_dir`` from the environment ``env_dir``.

    Variables, lowest precedence first: ``base_env`` (the machine's; default none),
    ``.s2i/environment``, ``runtime_env`` (the app's own settings), then what Wharf assigns
    (``PORT``, ``GUNICORN_BIND``, ``VIRTUAL_ENV``, ``PATH``). The ``APP_*`` choices are read
    from ``.s2i/environment`` and ``runtime_env`` only. ``interface=None`` finds out whether
    the app is ASGI by importing it, when the environment has uvicorn (in ``sandbox``: that
    runs the app's code).
    """
    project_dir = project_dir.resolve()
    settings = {**read_s2i_environment(project_dir), **(runtime_env or {})}
    cwd = (project_dir / settings.get("APP_HOME", ".")).resolve()
    if not cwd.is_dir():
        raise Invalid(
            f"APP_HOME names {settings['APP_HOME']}, which is not a folder in the project"
        )
    bind = format_bind(host, port)
    env = _process_env(base_env or {}, settings, env_dir, project_dir, cwd, bind, port)

    script, script_named = _default_step(settings, "APP_SCRIPT", "app.sh")
    if script:
        path = cwd / script
        if path.is_file():
            if not os.access(path, os.X_OK):
                raise Invalid(f"APP_SCRIPT {script} is not executable: run 'chmod +x {script}'")
            return RunCommand((str(path),), env, cwd, "app-script", f"script {script}")
        if script_named:
            raise Invalid(f"APP_SCRIPT names {script}, which does not exist in {cwd}")

    app_file, file_named = _default_step(settings, "APP_FILE", "app.py")
    if app_file:
        if (cwd / app_file).is_file():
            argv = (str(env_dir / "bin" / "python"), app_file)
            return RunCommand(argv, env, cwd, "app-file", f"python {app_file}")
        if file_named:
            raise Invalid(f"APP_FILE names {app_file}, which does not exist in {cwd}")

    probe = run_profile(project_dir, env_dir, cwd)
    return _plan_gunicorn(settings, env, env_dir, cwd, bind, interface, log, sandbox, probe)


def _plan_gunicorn(
    settings: Mapping[str, str],
    env: dict[str, str],
    env_dir: Path,
    cwd: Path,
    bind: str,
    interface: Interface | None,
    log: Log,
    sandbox: Sandbox,
    probe: SandboxProfile,
) -> RunCommand:
    gunicorn = env_dir / "bin" / "gunicorn"
    module = settings.get("APP_MODULE") or (
        "wsgi:application" if (cwd / "wsgi.py").is_file() else ""
    )
    if not gunicorn.exists():
        raise Invalid(
            f"don't know how to run the app in {cwd}: gunicorn is not in its requirements "
            "and there is no app.sh or app.py. Add gunicorn to requirements.txt (or set "
            f"APP_FILE or APP_SCRIPT in {S2I_ENVIRONMENT_FILE})"
        )
    if not module:
        raise Invalid(
            f"don't know how to run the app in {cwd}: it has no wsgi.py and APP_MODULE is not "
            "set. Add a wsgi.py that defines 'application' (or set APP_MODULE, APP_FILE or "
            f"APP_SCRIPT in {S2I_ENVIRONMENT_FILE})"
        )
    argv = [str(gunicorn), module, f"--bind={bind}"]
    notes: list[str] = []
    config = settings.get("APP_CONFIG", "")
    if config:
        if not (cwd / config).is_file():
            raise Invalid(f"APP_CONFIG names {config}, which does not exist in {cwd}")
        argv += ["--config", config]
        notes.append(f"config {config}")
    elif not env.get("GUNICORN_CMD_ARGS"):
        argv.append("--access-logfile=-")  # S2I's default settings, when none are custom
    if (installed_version(env_dir, "gunicorn") or (0,)) >= (25, 1):
        # Gunicorn 25.1+ opens a control socket at one fixed path in $HOME by default;
        # replicas of every app would fight over it, and Wharf does not use it.
        argv.append("--no-control-socket")
    if interface is None:
        interface = (
            probe_interface(
                env_dir, module, cwd=cwd, env=env, log=log, sandbox=sandbox, profile=probe
            )
            if has_package(env_dir, "uvicorn")
            else "wsgi"
        )
    if interface == "asgi":
        worker = (
            "uvicorn_worker.UvicornWorker"
            if has_package(env_dir, "uvicorn_worker")
            else "uvicorn.workers.UvicornWorker"
        )
        argv += ["--worker-class", worker]
        notes.append(f"ASGI, {worker}")
    summary = f"gunicorn {module}" + (f" ({', '.join(notes)})" if notes else "")
    return RunCommand(tuple(argv), env, cwd, "gunicorn", summary)

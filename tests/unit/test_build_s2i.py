"""The S2I run order: which command runs a project, with which variables, where."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wharf.build.s2i import plan_run
from wharf.errors import Invalid


@pytest.fixture
def env_dir(tmp_path: Path) -> Path:
    """A stand-in environment: a gunicorn script and its dist-info, nothing that runs."""
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "gunicorn").write_text("#!/bin/sh\n")
    (env / "lib" / "python3.11" / "site-packages" / "gunicorn-27.0.1.dist-info").mkdir(parents=True)
    return env


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "wsgi.py").write_text("application = None\n")
    return root


def s2i(project: Path, text: str) -> None:
    (project / ".s2i").mkdir(exist_ok=True)
    (project / ".s2i" / "environment").write_text(text)


def test_the_template_layout_runs_gunicorn_with_its_config(project: Path, env_dir: Path) -> None:
    (project / "gunicorn_config.py").write_text("")
    s2i(project, "APP_CONFIG=gunicorn_config.py\n")
    command = plan_run(project, env_dir, 5123)
    assert command.strategy == "gunicorn"
    assert command.argv == (
        str(env_dir / "bin" / "gunicorn"),
        "wsgi:application",
        "--bind=127.0.0.1:5123",
        "--config",
        "gunicorn_config.py",
        "--no-control-socket",
    )
    assert command.cwd == project.resolve()
    assert command.env["PORT"] == "5123"
    assert command.env["GUNICORN_BIND"] == "127.0.0.1:5123"
    assert command.env["APP_CONFIG"] == "gunicorn_config.py"
    assert command.env["VIRTUAL_ENV"] == str(env_dir)
    assert command.env["PATH"].split(os.pathsep)[0] == str(env_dir / "bin")
    assert command.summary == "gunicorn wsgi:application (config gunicorn_config.py)"


def test_without_config_s2i_default_settings_apply(project: Path, env_dir: Path) -> None:
    command = plan_run(project, env_dir, 8000, host="0.0.0.0")
    assert command.argv[2:] == ("--bind=0.0.0.0:8000", "--access-logfile=-", "--no-control-socket")


def test_gunicorn_cmd_args_replace_the_default_settings(project: Path, env_dir: Path) -> None:
    command = plan_run(project, env_dir, 8000, runtime_env={"GUNICORN_CMD_ARGS": "--workers=2"})
    assert "--access-logfile=-" not in command.argv
    assert command.env["GUNICORN_CMD_ARGS"] == "--workers=2"


def test_older_gunicorn_gets_no_control_socket_flag(project: Path, env_dir: Path) -> None:
    site = env_dir / "lib" / "python3.11" / "site-packages"
    (site / "gunicorn-27.0.1.dist-info").rename(site / "gunicorn-23.0.0.dist-info")
    assert "--no-control-socket" not in plan_run(project, env_dir, 8000).argv


def test_ipv6_hosts_are_bracketed(project: Path, env_dir: Path) -> None:
    command = plan_run(project, env_dir, 8000, host="::1")
    assert "--bind=[::1]:8000" in command.argv
    assert command.env["GUNICORN_BIND"] == "[::1]:8000"


def test_app_module_names_the_app(project: Path, env_dir: Path) -> None:
    s2i(project, "APP_MODULE=service.main:app\n")
    assert plan_run(project, env_dir, 8000).argv[1] == "service.main:app"


def test_app_script_comes_first(project: Path, env_dir: Path) -> None:
    script = project / "app.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    (project / "app.py").write_text("")
    command = plan_run(project, env_dir, 8000)
    assert command.strategy == "app-script"
    assert command.argv == (str(script),)


def test_a_script_that_cannot_run_says_how_to_fix_it(project: Path, env_dir: Path) -> None:
    (project / "app.sh").write_text("#!/bin/sh\n")
    with pytest.raises(Invalid, match=r"chmod \+x app.sh"):
        plan_run(project, env_dir, 8000)


def test_app_file_comes_before_gunicorn(project: Path, env_dir: Path) -> None:
    (project / "app.py").write_text("")
    command = plan_run(project, env_dir, 8000)
    assert command.strategy == "app-file"
    assert command.argv == (str(env_dir / "bin" / "python"), "app.py")
    assert command.env["PORT"] == "8000"


def test_app_module_switches_the_app_py_default_off(project: Path, env_dir: Path) -> None:
    (project / "app.py").write_text("")
    s2i(project, "APP_MODULE=wsgi:application\n")
    assert plan_run(project, env_dir, 8000).strategy == "gunicorn"


def test_an_empty_value_switches_a_step_off(project: Path, env_dir: Path) -> None:
    (project / "app.py").write_text("")
    s2i(project, "APP_FILE=\n")
    assert plan_run(project, env_dir, 8000).strategy == "gunicorn"


def test_runtime_env_overrides_s2i_environment(project: Path, env_dir: Path) -> None:
    (project / "other.py").write_text("")
    s2i(project, "APP_FILE=missing.py\n")
    command = plan_run(project, env_dir, 8000, runtime_env={"APP_FILE": "other.py"})
    assert command.argv[-1] == "other.py"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("APP_SCRIPT=run.sh", "APP_SCRIPT names run.sh, which does not exist"),
        ("APP_FILE=serve.py", "APP_FILE names serve.py, which does not exist"),
        ("APP_CONFIG=gunicorn.conf.py", "APP_CONFIG names gunicorn.conf.py, which does not exist"),
        ("APP_HOME=sub", "APP_HOME names sub, which is not a folder"),
    ],
)
def test_a_named_file_that_is_missing_is_invalid(
    project: Path, env_dir: Path, setting: str, message: str
) -> None:
    s2i(project, setting + "\n")
    with pytest.raises(Invalid, match=message):
        plan_run(project, env_dir, 8000)


def test_without_gunicorn_it_says_what_to_add(project: Path, env_dir: Path) -> None:
    (env_dir / "bin" / "gunicorn").unlink()
    with pytest.raises(Invalid, match="gunicorn is not in its requirements"):
        plan_run(project, env_dir, 8000)


def test_without_wsgi_py_or_app_module_it_says_so(project: Path, env_dir: Path) -> None:
    (project / "wsgi.py").unlink()
    with pytest.raises(Invalid, match=r"no wsgi\.py and APP_MODULE is not set"):
        plan_run(project, env_dir, 8000)


def test_app_home_runs_from_a_sub_folder(project: Path, env_dir: Path) -> None:
    (project / "web").mkdir()
    (project / "web" / "wsgi.py").write_text("")
    (project / "wsgi.py").unlink()
    s2i(project, "APP_HOME=web\n")
    command = plan_run(project, env_dir, 8000)
    assert command.cwd == (project / "web").resolve()
    assert command.env["PYTHONPATH"] == str(project.resolve())


def test_asgi_apps_get_a_uvicorn_worker(project: Path, env_dir: Path) -> None:
    command = plan_run(project, env_dir, 8000, interface="asgi")
    assert command.argv[-2:] == ("--worker-class", "uvicorn.workers.UvicornWorker")
    site = env_dir / "lib" / "python3.11" / "site-packages"
    (site / "uvicorn_worker").mkdir()
    (site / "uvicorn_worker" / "__init__.py").write_text("")
    command = plan_run(project, env_dir, 8000, interface="asgi")
    assert command.argv[-2:] == ("--worker-class", "uvicorn_worker.UvicornWorker")


def test_without_uvicorn_the_app_is_not_probed(project: Path, env_dir: Path) -> None:
    # The stand-in environment has no python: a probe would fail loudly in the log.
    lines: list[str] = []
    command = plan_run(project, env_dir, 8000, log=lines.append)
    assert "--worker-class" not in command.argv
    assert lines == []


def test_the_machine_env_is_the_base_and_wharf_has_the_last_word(
    project: Path, env_dir: Path
) -> None:
    s2i(project, "GREETING=from-s2i\nPORT=1\n")
    base = {"PATH": "/usr/bin", "HOME": "/home/me", "VIRTUAL_ENV": "/elsewhere", "PYTHONPATH": "/x"}
    command = plan_run(
        project, env_dir, 8000, base_env=base, runtime_env={"GUNICORN_BIND": "0.0.0.0:1"}
    )
    assert command.env["HOME"] == "/home/me"
    assert command.env["GREETING"] == "from-s2i"
    assert command.env["PORT"] == "8000"
    assert command.env["GUNICORN_BIND"] == "127.0.0.1:8000"
    assert command.env["VIRTUAL_ENV"] == str(env_dir)
    assert "PYTHONPATH" not in command.env
    assert command.env["PATH"] == f"{env_dir / 'bin'}{os.pathsep}/usr/bin"
    assert command.env["PYTHONUNBUFFERED"] == "1"
    assert command.env["WEB_CONCURRENCY"] == "1"


def test_a_malformed_s2i_environment_names_the_line(project: Path, env_dir: Path) -> None:
    s2i(project, "# settings\nAPP_CONFIG=gunicorn_config.py\nthis is not a variable\n")
    with pytest.raises(Invalid, match="line 3 is not NAME=VALUE"):
        plan_run(project, env_dir, 8000)

"""``wharf serve`` runs a model project as it runs when deployed, and caches its environment."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.serving import (
    execute_notebook,
    init_project,
    run_wharf,
    serve,
    serve_env,
    text_outputs,
)
from tests.processes import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

NOT_IMPLEMENTED = {"prediction": "not implemented"}


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir (so one environment cache) for the whole session."""
    return tmp_path_factory.mktemp("serve")


@pytest.fixture(scope="session")
def env(session_dir: Path) -> dict[str, str]:
    return serve_env(session_dir / "data", session_dir / "config")


@pytest.fixture(scope="session")
def model_project(session_dir: Path, env: dict[str, str]) -> Path:
    return init_project(session_dir / "projects", env)


def curl_prediction(url: str) -> dict[str, str]:
    """The README's curl command, exactly, against ``url``."""
    if shutil.which("curl") is None:
        response = httpx.post(url, content='{"data": "hello world"}',
                              headers={"Content-Type": "application/json"})  # fmt: skip
        return dict(response.json())
    done = subprocess.run(
        ["curl", "-s", "-X", "POST", "-H", "Content-Type: application/json",
         "--data", '{"data": "hello world"}', url],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout))


def test_serve_answers_and_reuses_its_environment(
    model_project: Path, env: dict[str, str], tmp_path: Path
) -> None:
    envs_dir = Path(env["WHARF_DATA_DIR"]) / "envs"
    with serve(model_project, env, tmp_path) as cold:
        assert curl_prediction(f"{cold.url}/prediction") == NOT_IMPLEMENTED
        assert curl_prediction(f"{cold.url}/predictions") == NOT_IMPLEMENTED
        assert httpx.get(f"{cold.url}/").json() == {"status": "ok"}
        bad = httpx.post(f"{cold.url}/predictions", content="{nope",
                         headers={"Content-Type": "application/json"})  # fmt: skip
        assert bad.status_code == 400
        assert "not valid JSON" in bad.json()["error"]
        assert httpx.post(f"{cold.url}/predictions").json() == NOT_IMPLEMENTED
        log = cold.output()
        assert "building environment" in log
        assert "+ gunicorn==" in log
        assert "with gunicorn wsgi:application (config gunicorn_config.py)" in log
        assert f"Listening at: {cold.url}" in log
    (built,) = [p for p in envs_dir.iterdir() if not p.name.startswith(".")]

    with serve(model_project, env, tmp_path) as cached:
        assert curl_prediction(f"{cached.url}/predictions") == NOT_IMPLEMENTED
        log = cached.output()
        assert f"environment {built.name} reused" in log
        assert "building environment" not in log
        assert "Resolved" not in log
        assert "Installed" not in log
    # Reuse is shown by the log above; wall-clock times vary with the machine's load, so
    # they are reported rather than compared.
    timings = f"cold {cold.ready_after:.2f} s, cached {cached.ready_after:.2f} s"
    print(f"\nwharf serve until the app answers: {timings}")


def test_the_test_notebook_calls_the_served_app(
    model_project: Path, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    with serve(model_project, env, tmp_path) as served:
        kernel_env = {**env, "PREDICTION_URL": f"{served.url}/predictions"}
        notebook = execute_notebook(model_project / "2_test_flask.ipynb", kernel_env)
        assert "'prediction': 'not implemented'" in text_outputs(notebook)
        assert 'POST /predictions HTTP/1.1" 200' in served.output()


def test_a_code_change_is_served_without_a_rebuild(
    model_project: Path, env: dict[str, str], tmp_path: Path
) -> None:
    project = tmp_path / "edited"
    shutil.copytree(model_project, project)
    prediction = project / "prediction.py"
    prediction.write_text(
        prediction.read_text().replace(
            'return {"prediction": "not implemented"}', 'return {"prediction": args["data"][::-1]}'
        )
    )
    with serve(project, env, tmp_path) as served:
        assert curl_prediction(f"{served.url}/predictions") == {"prediction": "dlrow olleh"}
        assert "reused" in served.output()


def test_unresolvable_requirements_fail_with_the_resolvers_message(
    model_project: Path, env: dict[str, str], tmp_path: Path
) -> None:
    project = tmp_path / "broken"
    shutil.copytree(model_project, project)
    requirements = project / "requirements.txt"
    requirements.write_text(requirements.read_text().replace("flask==3.1.3", "flask==99.0"))
    envs_dir = Path(env["WHARF_DATA_DIR"]) / "envs"
    before = set(envs_dir.iterdir()) if envs_dir.exists() else set()
    done = run_wharf("serve", str(project), "--port", str(free_port()), env=env)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "Error: could not install the packages of" in done.stderr
    assert "No solution found when resolving dependencies" in done.stderr
    assert "flask==99.0" in done.stderr
    after = set(envs_dir.iterdir())
    assert {p.name for p in after - before} <= {".locks"}
    assert not [p for p in after if p.name.startswith(".building-")]


def test_a_port_in_use_is_one_line(model_project: Path, env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_wharf("serve", str(model_project), "--port", str(port), env=env)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"Error: port {port} on 127.0.0.1 is already in use: stop what uses it, "
        "or choose another with --port"
    )


def test_a_folder_that_is_not_a_project_says_what_was_looked_for(
    env: dict[str, str], tmp_path: Path
) -> None:
    done = run_wharf("serve", str(tmp_path), "--port", str(free_port()), env=env)
    assert done.returncode == 1
    assert "requirements.txt, pyproject.toml, setup.py or Pipfile.lock" in done.stderr
    assert "Traceback" not in done.stderr

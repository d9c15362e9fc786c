"""The rendered model project keeps its own promises: its tests pass, its notebook runs, and
plain cookiecutter renders the same project as ``wharf init``."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest
from uv import find_uv_bin

from tests.e2e.serving import execute_notebook, init_project, serve, serve_env, text_outputs
from wharf.services.projects import TEMPLATE_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return serve_env(tmp_path / "data", tmp_path / "config")


def test_the_projects_own_tests_pass_with_its_requirements(
    tmp_path: Path, env: dict[str, str]
) -> None:
    project = init_project(tmp_path / "out", env, "--license", "MIT")
    venv = tmp_path / "venv"
    uv_env = {**env, "UV_PYTHON_DOWNLOADS": "never"}
    uv_env.pop("VIRTUAL_ENV", None)
    for args in (
        ["venv", "--quiet", "--python", sys.executable, str(venv)],
        ["pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
         "-r", str(project / "requirements.txt"), "pytest"],
    ):  # fmt: skip
        subprocess.run([find_uv_bin(), *args], env=uv_env, check=True, timeout=300)
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=uv_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout
    assert "failed" not in done.stdout


def test_the_start_here_notebook_runs_headless(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    project = init_project(tmp_path / "out", env)
    notebook = execute_notebook(project / "0_start_here.ipynb")
    outputs = text_outputs(notebook)
    assert "{'prediction': 'not implemented'}" in outputs
    assert '{"prediction": "not implemented"}' in outputs


def test_plain_cookiecutter_renders_what_wharf_init_renders(
    tmp_path: Path, env: dict[str, str]
) -> None:
    by_wharf = init_project(tmp_path / "wharf", env, "--license", "GNU GPLv3")
    # A config file of its own, so cookiecutter's replay file lands here, not in $HOME.
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(f"replay_dir: {tmp_path / 'replay'}\ncookiecutters_dir: {tmp_path / 'cc'}\n")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "cookiecutter"), "--no-input", "--config-file",
         str(config), "-o", str(tmp_path / "plain"), str(TEMPLATE_DIR),
         "open_source_license=GNU GPLv3"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    by_cookiecutter = tmp_path / "plain" / by_wharf.name
    comparison = filecmp.dircmp(by_wharf, by_cookiecutter)
    assert comparison.left_only == comparison.right_only == []
    _assert_same_files(comparison)


def _assert_same_files(comparison: filecmp.dircmp[str]) -> None:
    (_, mismatch, errors) = filecmp.cmpfiles(
        comparison.left, comparison.right, comparison.common_files, shallow=False
    )
    assert mismatch == errors == []
    for sub in comparison.subdirs.values():
        assert sub.left_only == sub.right_only == []
        _assert_same_files(sub)


def test_the_test_notebook_calls_a_served_app_in_python_and_with_curl(
    tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    project = init_project(tmp_path / "out", env)
    with serve(project, env, tmp_path) as served:
        kernel_env = {**os.environ, "PREDICTION_URL": f"{served.url}/predictions"}
        notebook = execute_notebook(project / "2_test_flask.ipynb", kernel_env)
    outputs = text_outputs(notebook)
    assert "{'prediction': 'not implemented'}" in outputs  # the Python cell
    assert '{"prediction":"not implemented"}' in outputs  # the curl cell

"""The model-project template renders the project DESIGN.md describes, for every answer."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest

from wharf.errors import Conflict, Invalid
from wharf.services.projects import (
    LICENSES,
    TEMPLATE_DIR,
    ProjectAnswers,
    derive_repo_name,
    read_template_defaults,
    render_project,
    resolve_license,
)

EXPECTED_FILES = {
    "prediction.py",
    "wsgi.py",
    "gunicorn_config.py",
    ".s2i/environment",
    "requirements.txt",
    "0_start_here.ipynb",
    "1_run_flask.ipynb",
    "2_test_flask.ipynb",
    "tests/conftest.py",
    "tests/test_prediction.py",
    "tests/test_wsgi.py",
    "tests/test_gunicorn_config.py",
    "README.md",
    "LICENSE",
    ".gitignore",
}


def answers(**changes: str) -> ProjectAnswers:
    values = {
        "project_name": "Churn Model",
        "author_name": "Ada Lovelace",
        "description": "Predicts churn.",
        "open_source_license": "MIT",
    }
    values.update(changes)
    return ProjectAnswers(**values)


def files_of(project: Path) -> set[str]:
    return {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}


def test_the_project_has_every_file(tmp_path: Path) -> None:
    project = render_project(answers(), tmp_path)
    assert project == tmp_path / "churn_model"
    assert files_of(project) == EXPECTED_FILES
    assert (project / ".s2i" / "environment").read_text() == "APP_CONFIG=gunicorn_config.py\n"


def test_no_template_syntax_is_left_behind(tmp_path: Path) -> None:
    project = render_project(answers(), tmp_path)
    for name in files_of(project):
        text = (project / name).read_text()
        assert not re.search(r"\{\{|\{%|\{#|cookiecutter\.", text), name


def test_answers_reach_the_files(tmp_path: Path) -> None:
    project = render_project(answers(), tmp_path)
    readme = (project / "README.md").read_text()
    assert readme.startswith("# Churn Model\n\nPredicts churn.\n")
    assert "wharf app create --git <URL of your repository> --name churn-model" in readme
    assert '{"data": "hello world"}' in readme
    assert "wharf serve --port 5000" in readme
    assert "Churn Model" in (project / "prediction.py").read_text()


def test_requirements_are_pinned(tmp_path: Path) -> None:
    project = render_project(answers(), tmp_path)
    lines = [
        line
        for line in (project / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert all(re.fullmatch(r"[a-z0-9_.-]+==[0-9][0-9a-z.]*", line) for line in lines), lines
    names = {line.split("==")[0] for line in lines}
    assert {"flask", "gunicorn"} <= names


def test_notebooks_are_valid_and_use_the_python3_kernel(tmp_path: Path) -> None:
    project = render_project(answers(), tmp_path)
    for name in ("0_start_here.ipynb", "1_run_flask.ipynb", "2_test_flask.ipynb"):
        notebook = nbformat.read(project / name, as_version=4)
        nbformat.validate(notebook)
        assert notebook.metadata.kernelspec.name == "python3"
        assert all(not cell.get("outputs") for cell in notebook.cells)
    test_flask = (project / "2_test_flask.ipynb").read_text()
    assert "PREDICTION_URL" in test_flask
    assert "http://localhost:5000/predictions" in test_flask
    assert "port=5000" in (project / "1_run_flask.ipynb").read_text()


def year() -> str:
    return str(datetime.now(UTC).year)


@pytest.mark.parametrize(
    ("license_name", "phrases"),
    [
        ("MIT", ["MIT License", "Permission is hereby granted, free of charge"]),
        ("BSD-3-Clause", ["BSD 3-Clause License", "Neither the name of the copyright holder"]),
        ("GNU GPLv3", ["GNU GENERAL PUBLIC LICENSE", "Version 3, 29 June 2007",
                       "END OF TERMS AND CONDITIONS"]),
    ],
)  # fmt: skip
def test_each_licence_gets_its_real_text(
    tmp_path: Path, license_name: str, phrases: list[str]
) -> None:
    project = render_project(answers(open_source_license=license_name), tmp_path)
    text = (project / "LICENSE").read_text()
    for phrase in phrases:
        assert phrase in text
    assert text.endswith("\n")
    assert not text.endswith("\n\n")
    if license_name != "GNU GPLv3":
        assert f"Copyright (c) {year()}" in text
        assert "Ada Lovelace" in text
    assert f"{license_name}, see `LICENSE`" in (project / "README.md").read_text()


def test_the_gpl_text_is_the_official_one(tmp_path: Path) -> None:
    project = render_project(answers(open_source_license="GNU GPLv3"), tmp_path)
    text = (project / "LICENSE").read_text()
    assert text == (TEMPLATE_DIR / "templates" / "licenses" / "gpl-3.0.txt").read_text()
    assert len(text) == 35149  # the FSF's gpl-3.0.txt


def test_no_license_file_means_no_license_file(tmp_path: Path) -> None:
    project = render_project(answers(open_source_license="No license file"), tmp_path)
    assert not (project / "LICENSE").exists()
    assert "LICENSE" not in (project / "README.md").read_text().split("## Settings")[1]


def test_repo_name_is_derived_or_given(tmp_path: Path) -> None:
    assert derive_repo_name("My Great Model") == "my_great_model"
    assert render_project(answers(repo_name="churn-svc"), tmp_path).name == "churn-svc"


def test_defaults_come_from_the_template(tmp_path: Path) -> None:
    defaults = read_template_defaults()
    raw = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())
    assert raw["open_source_license"] == list(LICENSES)
    assert defaults.open_source_license == "No license file"
    project = render_project(defaults, tmp_path)
    assert project.name == derive_repo_name(defaults.project_name)


def test_an_existing_folder_is_a_conflict_unless_overwriting(tmp_path: Path) -> None:
    project = render_project(answers(), tmp_path)
    (project / "prediction.py").write_text("changed\n")
    (project / "model.joblib").write_text("mine\n")
    with pytest.raises(Conflict, match="already exists"):
        render_project(answers(), tmp_path)
    assert (project / "prediction.py").read_text() == "changed\n"
    render_project(answers(), tmp_path, overwrite=True)
    assert "def predict" in (project / "prediction.py").read_text()
    assert (project / "model.joblib").read_text() == "mine\n"


@pytest.mark.parametrize("name", ["", "   ", "a/b", 'say "hi"', ".."])
def test_unusable_names_are_invalid(tmp_path: Path, name: str) -> None:
    with pytest.raises(Invalid):
        render_project(answers(project_name=name), tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("given", "expected"),
    [("mit", "MIT"), ("3", "MIT"), ("GPL-3.0-or-later", "GNU GPLv3"), ("gnu gplv3", "GNU GPLv3"),
     ("bsd-3-clause", "BSD-3-Clause"), ("none", "No license file"), ("1", "No license file")],
)  # fmt: skip
def test_licences_can_be_spelled_many_ways(given: str, expected: str) -> None:
    assert resolve_license(given) == expected


def test_an_unknown_licence_lists_the_choices() -> None:
    with pytest.raises(Invalid, match="'No license file', 'GNU GPLv3', 'MIT', 'BSD-3-Clause'"):
        resolve_license("Apache-2.0")


def test_gunicorn_config_trusts_the_route_and_has_odhs_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = render_project(answers(), tmp_path)
    for name in ("GUNICORN_PROCESSES", "GUNICORN_TIMEOUT", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(name, raising=False)
    config: dict[str, object] = {}
    exec((project / "gunicorn_config.py").read_text(), config)
    assert (config["workers"], config["timeout"]) == (2, 120)
    assert config["forwarded_allow_ips"] == "*"
    assert config["secure_scheme_headers"] == {
        "X-FORWARDED-PROTOCOL": "ssl",
        "X-FORWARDED-PROTO": "https",
        "X-FORWARDED-SSL": "on",
    }
    monkeypatch.setenv("GUNICORN_PROCESSES", "5")
    exec((project / "gunicorn_config.py").read_text(), config)
    assert config["workers"] == 5


def test_the_test_notebook_needs_only_the_standard_library_and_has_the_curl_cell(
    tmp_path: Path,
) -> None:
    project = render_project(answers(), tmp_path)
    notebook = nbformat.read(project / "2_test_flask.ipynb", as_version=4)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    requirements = (project / "requirements.txt").read_text()
    assert "import requests" not in "\n".join(code) or "requests==" in requirements
    assert any(
        source.startswith("!curl -X POST -H \"Content-Type: application/json\" --data "
                          "'{\"data\": \"hello world\"}'")
        for source in code
    )  # fmt: skip

"""``wharf init`` translates flags and prompts into a rendered project, and errors into a line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wharf.cli import init as init_cmd
from wharf.cli.main import app

runner = CliRunner()


def test_no_input_renders_the_defaults(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "--no-input", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    project = tmp_path / "my_model"
    assert (project / "prediction.py").is_file()
    assert not (project / "LICENSE").exists()
    assert f"created {project}" in result.output


def test_flags_answer_the_questions(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["init", "--no-input", "--output-dir", str(tmp_path), "--project-name", "Fraud Scorer",
         "--author-name", "Grace Hopper", "--description", "Scores fraud.", "--license", "mit"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    project = tmp_path / "fraud_scorer"
    assert "Grace Hopper" in (project / "LICENSE").read_text()
    assert (project / "README.md").read_text().startswith("# Fraud Scorer\n\nScores fraud.")


def test_an_existing_project_is_refused_in_one_line(tmp_path: Path) -> None:
    args = ["init", "--no-input", "-o", str(tmp_path)]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 1
    assert "already exists" in again.output
    assert "Traceback" not in again.output
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0


def test_an_unknown_licence_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "--no-input", "-o", str(tmp_path), "--license", "WTFPL"])
    assert result.exit_code == 1
    assert "unknown licence 'WTFPL'" in result.output
    assert list(tmp_path.iterdir()) == []


def test_without_a_terminal_it_does_not_ask(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "-o", str(tmp_path)], input="")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "my_model").is_dir()


def test_on_a_terminal_it_asks_for_what_flags_leave_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(init_cmd, "_is_interactive", lambda: True)
    answers = "Demand Forecast\n\nAlan Turing\nForecasts demand.\n4\n"
    result = runner.invoke(app, ["init", "-o", str(tmp_path)], input=answers)
    assert result.exit_code == 0, result.output
    assert "Project name" in result.output
    assert "3 - MIT" in result.output
    project = tmp_path / "demand_forecast"
    license_text = (project / "LICENSE").read_text()
    assert license_text.startswith("BSD 3-Clause License")
    assert "Alan Turing" in license_text


def test_flags_are_not_asked_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(init_cmd, "_is_interactive", lambda: True)
    result = runner.invoke(
        app,
        ["init", "-o", str(tmp_path), "--project-name", "X Model", "--license", "MIT"],
        input="\nMe\n\n",
    )
    assert result.exit_code == 0, result.output
    assert "Project name" not in result.output
    assert "Licence" not in result.output
    assert "Me" in (tmp_path / "x_model" / "LICENSE").read_text()


@pytest.mark.parametrize("repo_name", ["My Model!", "bad/name", "..", " spaced", "-dash"])
def test_a_repo_name_that_is_no_folder_or_package_name_is_refused(
    tmp_path: Path, repo_name: str
) -> None:
    result = runner.invoke(
        app, ["init", "--no-input", "-o", str(tmp_path), "--repo-name", repo_name]
    )
    assert result.exit_code == 1, result.output
    assert "cannot be the project's folder and package name" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_project_name_that_derives_a_bad_folder_is_refused_with_a_suggestion(
    tmp_path: Path,
) -> None:
    result = runner.invoke(
        app, ["init", "--no-input", "-o", str(tmp_path), "--project-name", "My Model!"]
    )
    assert result.exit_code == 1
    assert "--repo-name my_model" in result.output


def test_an_empty_project_name_is_refused_not_replaced_by_the_default(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "--no-input", "-o", str(tmp_path), "--project-name", ""])
    assert result.exit_code == 1
    assert "--project-name is empty" in result.output
    assert list(tmp_path.iterdir()) == []


def test_it_says_when_the_output_folder_is_created_and_the_readme_says_things_once(
    tmp_path: Path,
) -> None:
    target = tmp_path / "new" / "place"
    result = runner.invoke(app, ["init", "--no-input", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert f"created the folder {target}" in result.output
    readme = (target / "my_model" / "README.md").read_text()
    assert readme.count("A model served as a web app") == 1

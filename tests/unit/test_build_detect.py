"""Builder detection: which files make a Python project, and what a refusal says."""

from __future__ import annotations

from pathlib import Path

import pytest

from wharf.build.detect import PYTHON_MARKERS, detect_builder
from wharf.errors import Invalid


@pytest.mark.parametrize("marker", PYTHON_MARKERS)
def test_each_marker_makes_a_python_project(tmp_path: Path, marker: str) -> None:
    (tmp_path / marker).write_text("")
    project = detect_builder(tmp_path)
    assert project.builder == "python"
    assert project.markers == (marker,)
    assert project.root == tmp_path.resolve()


def test_markers_are_listed_in_builder_order(tmp_path: Path) -> None:
    for marker in ("Pipfile.lock", "setup.py", "requirements.txt"):
        (tmp_path / marker).write_text("")
    assert detect_builder(tmp_path).markers == ("requirements.txt", "setup.py", "Pipfile.lock")


def test_anything_else_says_what_was_looked_for(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text("{}")
    with pytest.raises(Invalid) as caught:
        detect_builder(tmp_path)
    message = str(caught.value)
    for marker in PYTHON_MARKERS:
        assert marker in message
    assert caught.value.code == "no-builder"


def test_a_missing_folder_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="is not a folder"):
        detect_builder(tmp_path / "nowhere")

"""Data assets from the CLI as a new user works: a YAML file, a local folder, two versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.processes import run_wharf_up

pytestmark = pytest.mark.e2e

HEART_YML = """\
$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json
name: heart
description: Heart disease data, one CSV per clinic.
type: uri_folder
path: ./heart
tags:
  source: clinics
"""


def test_data_create_twice_then_show_latest_in_both_spellings(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "heart").mkdir(parents=True)
    for index in range(20):
        (project / "heart" / f"heart-{index:03}.csv").write_text("age,chol\n63,233\n")
    (project / "heart.yml").write_text(HEART_YML)
    with run_wharf_up(tmp_path) as wharf:
        first = wharf.cli("data", "create", "-f", str(project / "heart.yml"), "--output", "json")
        assert first.returncode == 0, first.stderr
        second = wharf.cli("data", "create", "-f", str(project / "heart.yml"), "--output", "json")
        assert second.returncode == 0, second.stderr
        assert [json.loads(r.stdout)["version"] for r in (first, second)] == ["1", "2"]
        assert json.loads(first.stdout)["tags"] == {"source": "clinics"}

        for spelling in ("heart@latest", "azureml:heart@latest", "data:heart@latest"):
            shown = wharf.cli("data", "show", spelling, "--output", "json")
            assert shown.returncode == 0, shown.stderr
            assert json.loads(shown.stdout)["version"] == "2", spelling
        assert (
            json.loads(wharf.cli("data", "show", "heart:1", "--output", "json").stdout)["version"]
            == "1"
        )

        listed = wharf.cli("data", "list", "heart")
        assert listed.returncode == 0
        assert "heart" in listed.stdout

        path = json.loads(second.stdout)["path"].split("/paths/", 1)[1]
        uploaded = Path(tmp_path / "data" / "datastores" / "default" / "default" / path)
        assert len(list(uploaded.glob("*.csv"))) == 20

        missing = wharf.cli("data", "show", "heart:9")
        assert missing.returncode == 1
        assert missing.stderr.strip() == "Error: data asset 'heart' has no version '9'"
        bad = wharf.cli("data", "create", "--name", "x", "--path", str(tmp_path / "nope"))
        assert bad.returncode == 1
        assert "does not exist" in bad.stderr
        assert "Traceback" not in bad.stderr + missing.stderr

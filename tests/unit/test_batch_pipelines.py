"""Pipeline component YAML: wiring, order and the errors a user sees before anything runs."""

from __future__ import annotations

from typing import Any

import pytest

from wharf.batch.pipelines import parse_pipeline, render_command
from wharf.errors import Invalid

pytestmark = pytest.mark.timeout(30)


def pipeline(**jobs: Any) -> dict[str, Any]:
    return {
        "inputs": {"data": {"type": "uri_folder"}, "mode": {"type": "string", "default": "a"}},
        "outputs": {"scores": {"type": "uri_folder"}},
        "jobs": jobs,
    }


SCORE = {
    "code": "./score",
    "command": "python s.py --in ${{inputs.x}} --out ${{outputs.y}}",
    "inputs": {"x": "${{parent.jobs.prepare.outputs.p}}"},
    "outputs": {"y": "${{parent.outputs.scores}}"},
}
PREPARE = {
    "component": {"code": "./prep", "command": "python p.py ${{inputs.d}} ${{outputs.p}}"},
    "inputs": {"d": "${{parent.inputs.data}}"},
    "outputs": {"p": {"type": "uri_folder"}},
}


def test_steps_come_in_dependency_order() -> None:
    parsed = parse_pipeline(pipeline(score=SCORE, prepare=PREPARE))
    assert [s.name for s in parsed.steps] == ["prepare", "score"]
    assert parsed.steps[0].code == "./prep"
    assert parsed.inputs["mode"].default == "a"


@pytest.mark.parametrize(
    ("jobs", "message"),
    [
        ({"score": SCORE}, "reads ${{parent.jobs.prepare.outputs.p}}, which no step writes"),
        ({"prepare": {**PREPARE, "command": "python p.py ${{inputs.zz}}"}}, "inputs.zz"),
        ({}, "at least one command step"),
        (
            {"prepare": {**PREPARE, "inputs": {"d": "${{parent.inputs.nope}}"}}},
            "parent input 'nope'",
        ),
        ({"a": {**SCORE, "inputs": {"x": "${{parent.jobs.b.outputs.y}}"}},
          "b": {**SCORE, "inputs": {"x": "${{parent.jobs.a.outputs.y}}"}, "outputs": {"y": None}}},
         "cycle"),
    ],
)  # fmt: skip
def test_broken_pipelines_say_what_is_wrong(jobs: dict[str, Any], message: str) -> None:
    with pytest.raises(Invalid, match=message.replace("$", r"\$").replace("{", r"\{")):
        parse_pipeline(pipeline(**jobs))


def test_commands_are_rendered_one_argument_per_value() -> None:
    argv = render_command(
        "python s.py --in ${{inputs.x}} $[[--mode ${{inputs.m}}]] --out=${{outputs.y}}",
        {"inputs.x": "/data/my folder", "inputs.m": None, "outputs.y": "/out"},
    )
    assert argv == ["python", "s.py", "--in", "/data/my folder", "--out=/out"]

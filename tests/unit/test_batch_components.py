"""Component inputs: literals coerced to their declared type, with errors naming the input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wharf.batch.components import coerce_component_inputs, parse_component_spec
from wharf.errors import Invalid

SPEC = parse_component_spec(
    {
        "entry": "train:main",
        "inputs": {
            "data": {"type": "uri_folder"},
            "epochs": {"type": "integer"},
            "rate": {"type": "number", "default": 0.1},
            "shuffle": {"type": "boolean", "optional": True},
            "name": {"type": "string", "optional": True},
        },
        "outputs": {"model": {"type": "uri_folder"}, "metrics": {"type": "uri_file"}},
    }
)


def test_literals_are_coerced(tmp_path: Path) -> None:
    arguments = coerce_component_inputs(
        SPEC, {"data": str(tmp_path), "epochs": "3", "shuffle": "TRUE", "name": 7}
    )
    assert arguments == {
        "data": str(tmp_path),
        "epochs": 3,
        "rate": 0.1,
        "shuffle": True,
        "name": "7",
    }
    assert coerce_component_inputs(SPEC, {"data": tmp_path, "epochs": 2.0})["epochs"] == 2


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"epochs": "abc"}, "input 'epochs' must be an integer, got 'abc'"),
        ({"epochs": True}, "input 'epochs' must be an integer, got True"),
        ({"epochs": 2.5}, "input 'epochs' must be an integer, got 2.5"),
        ({"epochs": 1, "rate": "fast"}, "input 'rate' must be a number, got 'fast'"),
        ({"epochs": 1, "rate": "nan"}, "input 'rate' must be a finite number, got 'nan'"),
        ({"epochs": 1, "shuffle": "maybe"}, "input 'shuffle' must be a boolean"),
        ({"epochs": 1, "name": ["x"]}, "input 'name' must be a string, got ['x']"),
        ({}, "input 'epochs' is required"),
        ({"epochs": 1, "epoch": 1}, "the component has no input 'epoch' (it takes data, epochs"),
    ],
)
def test_bad_literals_name_the_input(tmp_path: Path, values: dict[str, Any], message: str) -> None:
    with pytest.raises(Invalid) as caught:
        coerce_component_inputs(SPEC, {"data": str(tmp_path), **values})
    assert caught.value.detail.startswith(message), caught.value.detail


def test_data_inputs_must_exist_as_declared(tmp_path: Path) -> None:
    (tmp_path / "f.csv").write_text("x\n")
    with pytest.raises(Invalid, match="input 'data' must be a folder"):
        coerce_component_inputs(SPEC, {"data": str(tmp_path / "f.csv"), "epochs": 1})
    with pytest.raises(Invalid, match="input 'data' must be a path to a uri_folder"):
        coerce_component_inputs(SPEC, {"data": 3, "epochs": 1})


def test_specs_are_validated() -> None:
    with pytest.raises(Invalid, match="entry: must be module:function"):
        parse_component_spec({"entry": "train.py"})
    with pytest.raises(Invalid, match=r"inputs\.x\.type"):
        parse_component_spec({"entry": "a:b", "inputs": {"x": {"type": "mltable"}}})

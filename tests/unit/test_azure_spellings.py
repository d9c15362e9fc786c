"""Azure ML's spellings that Wharf reads as written: resource ids, one-slash and location
references, plain strings in inputs, ``--query``/``-o`` on the command line, conda files."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from wharf.cli._output import print_json, reset_output
from wharf.cli.main import app, hoist_query
from wharf.errors import Invalid
from wharf.services.deployment_code import conda_notes
from wharf.services.job_invoke import InputValue
from wharf.storage.references import (
    AssetReference,
    DatastorePathReference,
    LocalPathReference,
    azure_id,
    looks_like_reference,
    parse_reference,
)

pytestmark = pytest.mark.timeout(60)

SUB = "/subscriptions/<subscription>/resourcegroups/<resource-group>"
PROVIDER = "/providers/Microsoft.MachineLearningServices/workspaces/<workspace>"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "azureml:/heart-dataset-unlabeled@latest",
            AssetReference("data", "heart-dataset-unlabeled", label="latest"),
        ),
        (
            "azureml://locations/<location>/workspaces/<workspace>/data/heart/versions/labels/latest",
            AssetReference("data", "heart", label="latest"),
        ),
        (
            "azureml://locations/<location>/workspaces/<workspace>/data/heart/versions/2",
            AssetReference("data", "heart", version="2"),
        ),
        (f"{SUB}{PROVIDER}/data/heart/versions/1", AssetReference("data", "heart", version="1")),
        (
            f"{SUB}{PROVIDER}/datastores/workspaceblobstore/paths/heart-disease-uci-unlabeled",
            DatastorePathReference("workspaceblobstore", "heart-disease-uci-unlabeled"),
        ),
        ("/subscriptions/home/notes.csv", LocalPathReference("/subscriptions/home/notes.csv")),
    ],
)
def test_azure_spellings_parse(text: str, expected: object) -> None:
    assert parse_reference(text) == expected


def test_ids_wharf_gives_parse_back() -> None:
    assert parse_reference(azure_id("ws", "data", "heart", "3")) == AssetReference(
        "data", "heart", version="3"
    )
    model = parse_reference(azure_id("ws", "models", "clf", "1"), azureml_kind="model")
    assert model == AssetReference("model", "clf", version="1")
    store = parse_reference(azure_id("ws", "datastores", "default") + "/paths/a/b.csv")
    assert store == DatastorePathReference("default", "a/b.csv")


def test_errors_quote_the_reference_as_typed() -> None:
    typed = "azureml://locations/x/workspaces/w/data/heart/versions/labels/oldest"
    with pytest.raises(Invalid, match=f"'{typed}'"):
        parse_reference(typed)


def test_a_string_that_names_data_is_a_data_input() -> None:
    assert looks_like_reference("azureml:heart@latest")
    assert looks_like_reference("https://example.com/heart.csv")
    assert not looks_like_reference("append")
    assert not looks_like_reference("./heart.csv")
    value = InputValue(type="string", value="azureml:/heart@latest").as_data()
    assert value.path == "azureml:/heart@latest"
    assert not value.is_literal
    assert InputValue(type="string", value="append").as_data().is_literal


def test_query_goes_anywhere_on_the_line() -> None:
    assert hoist_query(["data", "show", "-n", "x", "--query", "id", "-o", "tsv"]) == [
        "--query", "id", "data", "show", "-n", "x", "-o", "tsv",
    ]  # fmt: skip
    assert hoist_query(["job", "list", "--query=[].name"]) == ["--query", "[].name", "job", "list"]


def test_renderings_apply_the_query(capsys: pytest.CaptureFixture[str]) -> None:
    value = [{"name": "a", "n": 1, "ok": True}, {"name": "b", "n": 2, "ok": None}]
    reset_output("[].[name, n, ok]")
    from wharf.cli import _output

    _output._asked.rendering = "tsv"
    print_json(value)
    assert capsys.readouterr().out == "a\t1\ttrue\nb\t2\t\n"
    reset_output("[0]")
    _output._asked.rendering = "yaml"
    print_json(value)
    assert capsys.readouterr().out == "name: a\nn: 1\nok: true\n"
    reset_output(None)
    _output._asked.rendering = "json"
    print_json({"a": 1})
    assert json.loads(capsys.readouterr().out) == {"a": 1}


def test_a_bad_query_or_format_is_one_line() -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["--query", "[[[", "data", "list"])
    assert done.exit_code != 0
    assert "not valid JMESPath" in done.output
    done = runner.invoke(app, ["data", "list", "-o", "xml"])
    assert done.exit_code != 0
    assert "'xml' is not one of table, json, yaml, tsv" in done.output


def test_conda_python_and_packages_are_reported() -> None:
    notes = conda_notes(
        {"dependencies": ["python=3.4", "numpy=1.26", "pip", {"pip": ["mlflow"]}, "scipy"]}
    )
    assert notes["ignored"] == ["numpy=1.26", "scipy"]
    assert notes["python"] is None
    assert "python 3.4" in notes["python_note"]
    assert "instead" in notes["python_note"]

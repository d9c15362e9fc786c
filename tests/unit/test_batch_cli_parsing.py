"""What the CLI and SDK send for batch work: ``--set`` pairs, invoke files, deployment YAML with
local code and requirement files, and ``Input`` / plain values as inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from wharf.cli._invoke_args import InvokeArgs, apply_set, build_invoke_args
from wharf.cli.batch import deployment_changes
from wharf.cli.main import app as cli_app
from wharf.sdk import Input, InvalidRequestError, Output
from wharf.sdk._batch import BatchDeployment, deployment_spec, merge
from wharf.sdk._batch_specs import (
    folder_hash,
    prepare_deployment,
    read_requirements,
    to_input,
    to_output,
)


def invoke_args(**overrides: object) -> InvokeArgs:
    given: dict[str, object] = {
        "file": None,
        "set_pairs": [],
        "input": None,
        "input_type": None,
        "output_path": None,
        "mini_batch_size": None,
        "instance_count": None,
        "fields": {},
    }
    given.update(overrides)
    return build_invoke_args(**given)  # type: ignore[arg-type]


def test_set_pairs_in_the_azure_cli_spelling() -> None:
    args = InvokeArgs()
    apply_set(
        args,
        [
            "inputs.heart.type=uri_folder",
            "inputs.heart.path=data:heart@latest",
            "inputs.label=hello=world",
            "inputs.repeat=3",
            "outputs.summary.path=wharf://datastores/default/paths/x.csv",
            "settings.mini_batch_size=5",
            "settings.retry_settings.timeout=60",
            "experiment_name=nightly",
            "name=my-job",
        ],
    )
    assert args.inputs == {
        "heart": {"type": "uri_folder", "path": "data:heart@latest"},
        "label": "hello=world",
        "repeat": "3",
    }
    assert args.outputs == {"summary": {"path": "wharf://datastores/default/paths/x.csv"}}
    assert args.params_override == {"mini_batch_size": 5, "retry_settings": {"timeout": 60}}
    assert args.fields == {"experiment_name": "nightly", "job_name": "my-job"}


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("inputs.x", "is not KEY=VALUE"),
        ("=3", "is not KEY=VALUE"),
        ("inputs.x.colour=red", "inputs.x.colour is not a field"),
        ("outputs.x=here", "unknown key"),
        ("colour=red", "unknown key"),
        ("inputs..path=x", "names no input"),
    ],
)
def test_bad_set_pairs_say_what_is_wrong(pair: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        apply_set(InvokeArgs(), [pair])


def test_flags_win_over_set_which_wins_over_the_file(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    spec = tmp_path / "inputs.yml"
    spec.write_text(
        "inputs:\n"
        "  heart: {type: uri_folder, path: ./in}\n"
        "  repeat: 2\n"
        "outputs:\n  summary: {type: uri_file}\n"
        "settings: {mini_batch_size: 4, error_threshold: 0}\n"
        "experiment_name: from-file\n"
    )
    args = invoke_args(
        file=spec,
        set_pairs=["inputs.repeat=5", "experiment_name=from-set"],
        mini_batch_size=7,
        fields={"experiment_name": "from-flag", "job_name": None},
    )
    assert args.inputs == {
        "heart": {"type": "uri_folder", "path": str(tmp_path / "in")},
        "repeat": "5",
    }
    assert args.outputs == {"summary": {"type": "uri_file"}}
    assert args.params_override == {"mini_batch_size": 7, "error_threshold": 0}
    assert args.fields == {"experiment_name": "from-flag"}


def test_an_invoke_file_with_an_unknown_key_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "inputs.yml"
    spec.write_text("input: {path: x}\n")
    with pytest.raises(InvalidRequestError, match="unknown key 'input'"):
        invoke_args(file=spec)


def test_single_input_and_its_type() -> None:
    args = invoke_args(input="data:heart:2", input_type="uri_file", instance_count=2)
    assert args.fields["input"] == {"type": "uri_file", "path": "data:heart:2"}
    assert args.params_override == {"instance_count": 2}
    with pytest.raises(InvalidRequestError, match="--input-type needs --input"):
        invoke_args(input_type="uri_file")


def test_inputs_become_the_native_wire_shape() -> None:
    assert to_input("d", Input(type="uri_folder", path="data:heart@latest")).to_wire() == {
        "type": "uri_folder",
        "path": "data:heart@latest",
    }
    assert to_input("n", Input(type="integer", default=5)).to_wire() == {
        "type": "integer",
        "value": 5,
    }
    assert to_input("n", 5).to_wire() == {"type": "integer", "value": 5}
    assert to_input("f", 0.5).to_wire() == {"type": "number", "value": 0.5}
    assert to_input("b", True).to_wire() == {"type": "boolean", "value": True}
    assert to_input("s", "append").to_wire() == {"type": "string", "value": "append"}
    assert to_input("v", {"value": "3"}).to_wire() == {"type": "string", "value": "3"}
    assert to_input("p", {"path": "data:x:1"}).to_wire() == {
        "type": "uri_folder",
        "path": "data:x:1",
    }
    with pytest.raises(InvalidRequestError, match="needs a path or a value"):
        to_input("x", {"mode": "ro_mount"})
    assert to_output("score", "wharf://datastores/default/paths/a.csv").to_wire() == {
        "path": "wharf://datastores/default/paths/a.csv"
    }
    assert to_output("m", Output(type="uri_folder")).to_wire() == {"type": "uri_folder"}


def test_requirements_file_is_read_into_a_list(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "# pinned\npandas==2.2.3  # data frames\n\nscikit-learn>=1.5\n"
    )
    assert read_requirements("requirements.txt", tmp_path) == ["pandas==2.2.3", "scikit-learn>=1.5"]
    assert read_requirements([" numpy ", ""], tmp_path) == ["numpy"]
    with pytest.raises(InvalidRequestError, match=r"cannot read the requirements file nope\.txt"):
        read_requirements("nope.txt", tmp_path)


def test_a_deployment_yaml_uploads_its_code_and_reads_its_files(tmp_path: Path) -> None:
    code = tmp_path / "src"
    code.mkdir()
    (code / "score.py").write_text("def run(mini_batch):\n    return []\n")
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "score.pyc").write_bytes(b"x")
    (tmp_path / "conda.yml").write_text(
        "name: env\ndependencies:\n  - python=3.11\n  - pip:\n    - pandas\n"
    )
    uploads: list[tuple[Path, str]] = []

    def upload(folder: Path, target: str) -> str:
        uploads.append((folder, target))
        return f"wharf://datastores/default/paths/{target}/"

    body = prepare_deployment(
        {
            "$schema": "https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json",
            "name": "score",
            "endpoint_name": "heart",
            "type": "model",
            "model": "azureml:heart:1",
            "code_configuration": {"code": "./src", "scoring_script": "score.py"},
            "environment": {"conda_file": "conda.yml", "image": "mcr.microsoft.com/x"},
            "settings": {"mini_batch_size": 3},
        },
        tmp_path,
        upload,
    )
    digest = folder_hash(code)
    assert uploads == [(code, f"deployments/heart/score/code-{digest}")]
    assert body == {
        "name": "score",
        "endpoint_name": "heart",
        "type": "model",
        "model": "azureml:heart:1",
        "code_configuration": {
            "code": f"wharf://datastores/default/paths/deployments/heart/score/code-{digest}/",
            "scoring_script": "score.py",
        },
        "environment": {
            "conda_file": {"name": "env", "dependencies": ["python=3.11", {"pip": ["pandas"]}]},
            "image": "mcr.microsoft.com/x",
        },
        "settings": {"mini_batch_size": 3},
    }
    (code / "__pycache__" / "score.pyc").write_bytes(b"changed")
    assert folder_hash(code) == digest, "caches do not change the code's identity"
    (code / "score.py").write_text("def run(mini_batch):\n    return [1]\n")
    assert folder_hash(code) != digest


def test_a_component_file_is_inlined_with_its_code_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "comp" / "src").mkdir(parents=True)
    (tmp_path / "comp" / "src" / "job.py").write_text("def main(): ...\n")
    (tmp_path / "comp" / "component.yml").write_text(
        "code: ./src\nentry: job:main\ninputs:\n  n: {type: integer}\n"
    )
    body = prepare_deployment(
        {"name": "c", "endpoint_name": "e", "type": "component", "component": "comp/component.yml"},
        tmp_path,
        lambda folder, target: f"wharf://datastores/default/paths/{target}/",
    )
    assert body["component"]["entry"] == "job:main"
    assert body["component"]["code"].startswith(
        "wharf://datastores/default/paths/deployments/e/c/code-"
    )
    assert body["component"]["inputs"] == {"n": {"type": "integer"}}


def test_a_local_model_folder_must_be_registered_first(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    for model in ("./model", {"path": "./model"}):
        with pytest.raises(InvalidRequestError, match="wharf model create"):
            prepare_deployment(
                {"name": "d", "endpoint_name": "e", "model": model},
                tmp_path,
                lambda folder, target: "",
            )
    with pytest.raises(InvalidRequestError, match=r"the code folder \./nope does not exist"):
        prepare_deployment(
            {"name": "d", "endpoint_name": "e", "code_configuration": {"code": "./nope"}},
            tmp_path,
            lambda folder, target: "",
        )


def test_update_keeps_what_it_does_not_change() -> None:
    found = BatchDeployment.model_validate(
        {
            "name": "score",
            "endpoint_name": "heart",
            "type": "model",
            "kind": "scoring_script",
            "code": "wharf://datastores/default/paths/deployments/heart/score/code-1/",
            "scoring_script": "score.py",
            "model": "model:heart:1",
            "environment": {"requirements": ["numpy"], "source": "requirements", "key": "k"},
            "settings": {
                "mini_batch_size": 10,
                "retry_settings": {"max_retries": 3, "timeout": 30},
            },
            "resources": {"instance_count": 1},
            "is_default": True,
            "revision": 1,
        }
    )
    changes = deployment_changes(["settings.retry_settings.timeout=60", "description=faster"])
    assert changes == {"settings": {"retry_settings": {"timeout": 60}}, "description": "faster"}
    spec = merge(deployment_spec(found), changes)
    assert spec["settings"] == {
        "mini_batch_size": 10,
        "retry_settings": {"max_retries": 3, "timeout": 60},
    }
    assert spec["code_configuration"] == {"code": found.code, "scoring_script": "score.py"}
    assert spec["environment"] == {"requirements": ["numpy"]}
    assert spec["description"] == "faster"
    with pytest.raises(InvalidRequestError, match="use settings"):
        deployment_changes(["mini_batch_size=3"])


def test_every_batch_and_job_command_has_output_json() -> None:
    root = get_command(cli_app)
    for group_name in ("batch-endpoint", "batch-deployment", "job"):
        group = root.commands[group_name]  # type: ignore[attr-defined]
        for name, command in group.commands.items():
            options = [option for param in command.params for option in param.opts]
            assert "--output" in options, f"wharf {group_name} {name}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["batch-endpoint", "show"], "give the endpoint name (NAME or --name)"),
        (["batch-endpoint", "show", "a", "--name", "b"], "two different endpoint names given"),
        (
            ["batch-endpoint", "invoke", "-n", "heart", "--set", "inputs.x"],
            "--set 'inputs.x' is not KEY=VALUE",
        ),
        (["batch-endpoint", "invoke", "-n", "heart", "oops"], "--set 'oops' is not KEY=VALUE"),
        (["batch-deployment", "update", "-n", "d"], "give --file, or --name and --endpoint-name"),
        (["job", "show"], "give the job's name (JOB or --name)"),
    ],
)
def test_mistakes_are_one_red_line_before_any_request(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {message}"

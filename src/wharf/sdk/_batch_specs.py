"""What a user writes, as request bodies: deployment specs with local files, invoke inputs.

Only translation happens here. Local files are read or uploaded (the server never reads the
caller's machine); every rule about what a deployment or an invoke may hold is the server's.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from wharf.sdk._errors import InvalidRequestError
from wharf.sdk._storage import folder_files, is_local_path

LITERAL_TYPES = ("string", "integer", "number", "boolean")
Upload = Callable[[Path, str], str]
"""Upload a local folder to a target path on the default datastore; its ``wharf://`` reference."""


def invalid(message: str) -> InvalidRequestError:
    return InvalidRequestError(422, "invalid", message)


class Input(BaseModel):
    """A job input, as in Azure ML SDK v2.

    Data: ``Input(type="uri_folder", path="data:heart@latest")`` (``uri_file`` for one file); a
    local ``path`` is uploaded to the default datastore first. A literal value:
    ``Input(type="integer", default=5)`` (Azure's spelling) or ``Input(type="string",
    value="append")``; a plain Python value in ``inputs={...}`` works too.
    """

    model_config = ConfigDict(extra="allow")

    type: str = "uri_folder"
    path: str | None = None
    default: Any = None
    value: Any = None
    description: str | None = None

    @property
    def is_literal(self) -> bool:
        return self.path is None and (
            self.type in LITERAL_TYPES or self.value is not None or self.default is not None
        )

    def to_wire(self) -> dict[str, Any]:
        """The native REST shape: ``{"type", "path"}`` or ``{"type", "value"}``."""
        if self.is_literal:
            value = self.value if self.value is not None else self.default
            return {"type": self.type, "value": value}
        if self.path is None:
            raise invalid(f"an input of type {self.type} needs a path")
        return {"type": self.type, "path": self.path}


class Output(BaseModel):
    """Where a job writes an output: ``Output(type="uri_file", path="wharf://datastores/...")``.
    Without a ``path`` the output goes to the job's own folder on the default datastore."""

    model_config = ConfigDict(extra="allow")

    type: str | None = None
    path: str | None = None
    description: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {k: v for k, v in (("type", self.type), ("path", self.path)) if v is not None}


def literal_type(value: Any) -> str:
    """The input type of a plain Python value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def to_input(name: str, value: Any) -> Input:
    """An ``Input`` from what a user passed for input ``name``: an ``Input``, a dict shaped like
    one (YAML), or a plain value (a literal)."""
    if isinstance(value, Input):
        return value
    if isinstance(value, Mapping):
        fields = dict(value)
        if "type" not in fields and "path" not in fields:
            if "value" in fields or "default" in fields:
                raw = fields.get("value", fields.get("default"))
                fields["type"] = literal_type(raw)
            else:
                raise invalid(f"input {name!r} needs a path or a value")
        return Input.model_validate(fields)
    if isinstance(value, (str, int, float, bool)):
        return Input(type=literal_type(value), value=value)
    raise invalid(f"input {name!r} must be an Input, a mapping or a plain value, not {value!r}")


def to_output(name: str, value: Any) -> Output:
    if isinstance(value, Output):
        return value
    if isinstance(value, str):
        return Output(path=value)
    if isinstance(value, Mapping):
        return Output.model_validate(dict(value))
    raise invalid(f"output {name!r} must be an Output, a mapping or a path, not {value!r}")


def upload_input(input: Input, upload_local: Callable[[str], str]) -> Input:
    """``input`` with a local ``path`` replaced by the reference of its upload."""
    if input.is_literal or input.path is None or not is_local_path(input.path):
        return input
    return input.model_copy(update={"path": upload_local(input.path)})


def code_files(folder: Path) -> list[Path]:
    """The files of a code folder, sorted, without hidden files and folders (``.git``,
    ``.venv``, ``.ipynb_checkpoints``) and ``__pycache__``: what is uploaded. Links out of
    the folder refuse the upload, as for every folder upload (:func:`folder_files`)."""
    return folder_files(folder, skip=_hidden)


def folder_hash(folder: Path) -> str:
    """A short content hash of a code folder (relative paths and bytes), to name its upload."""
    digest = hashlib.sha256()
    for file in code_files(folder):
        digest.update(file.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _hidden(name: str) -> bool:
    return name.startswith(".") or name == "__pycache__"


def resolve_local(value: str, base: Path) -> Path:
    """A path from a spec file, relative to the file's folder."""
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else (base / path).resolve()


def read_requirements(value: Any, base: Path) -> list[str]:
    """``environment.requirements``: a list of requirement strings, or a file of them."""
    if isinstance(value, list):
        return [str(line).strip() for line in value if str(line).strip()]
    if not isinstance(value, str):
        raise invalid("environment.requirements must be a file or a list of requirements")
    path = resolve_local(value, base)
    try:
        text = path.read_text()
    except OSError as exc:
        raise invalid(f"cannot read the requirements file {value}: {exc.strerror}") from None
    lines = (line.split(" #", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def read_conda_file(value: Any, base: Path) -> dict[str, Any]:
    """``environment.conda_file``: a conda environment file, or its content as a mapping."""
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str):
        raise invalid("environment.conda_file must be a file or a mapping")
    return read_yaml_mapping(resolve_local(value, base), "environment.conda_file")


def read_yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise invalid(f"cannot read {what} {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise invalid(f"{what} {path} is not valid YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise invalid(f"{what} {path} must hold a YAML mapping")
    return loaded


def prepare_environment(environment: Any, base: Path) -> Any:
    """Read the files an environment names; references and other fields pass unchanged."""
    if not isinstance(environment, Mapping):
        return environment
    prepared = dict(environment)
    if prepared.get("requirements") is not None:
        prepared["requirements"] = read_requirements(prepared["requirements"], base)
    if prepared.get("conda_file") is not None:
        prepared["conda_file"] = read_conda_file(prepared["conda_file"], base)
    return prepared


def prepare_code(code: Any, base: Path, target: str, upload: Upload) -> Any:
    """A local code folder uploaded under ``target/code-<hash>/``; a reference unchanged."""
    if not isinstance(code, str) or not is_local_path(code):
        return code
    folder = resolve_local(code, base)
    if not folder.is_dir():
        raise invalid(f"the code folder {code} does not exist (relative to {base})")
    return upload(folder, f"{target}/code-{folder_hash(folder)}")


def check_model_reference(model: Any, base: Path) -> None:
    """``model:`` is a reference; a local folder must be registered first (say how)."""
    path = model.get("path") if isinstance(model, Mapping) else model
    local = isinstance(path, str) and is_local_path(path) and resolve_local(path, base).exists()
    if isinstance(model, Mapping) or local:
        raise invalid(
            f"model: {path!r} must be a reference such as model:<name>@latest; register a "
            f"local folder first with 'wharf model create --name <name> --path {path}'"
        )


def prepare_deployment(spec: Mapping[str, Any], base: Path, upload: Upload) -> dict[str, Any]:
    """The REST body of a deployment spec (shaped like Azure ML's batch deployment YAML):
    local code folders uploaded, requirement and conda files read, an inline component file
    loaded. Relative paths are relative to ``base`` (the YAML file's folder)."""
    body = {k: v for k, v in spec.items() if k != "$schema" and v is not None}
    endpoint, name = body.get("endpoint_name"), body.get("name")
    if not endpoint or not name:
        raise invalid("a deployment needs a name and an endpoint_name")
    target = f"deployments/{endpoint}/{name}"
    if body.get("model") is not None:
        check_model_reference(body["model"], base)
    code_configuration = body.get("code_configuration")
    if isinstance(code_configuration, Mapping):
        body["code_configuration"] = {
            **code_configuration,
            "code": prepare_code(code_configuration.get("code"), base, target, upload),
        }
    if "environment" in body:
        body["environment"] = prepare_environment(body["environment"], base)
    component = body.get("component")
    if isinstance(component, str) and is_local_path(component):
        component_file = resolve_local(component, base)
        component = read_yaml_mapping(component_file, "component")
        component.pop("$schema", None)
        body["component"] = _prepare_component(component, component_file.parent, target, upload)
    elif isinstance(component, Mapping):
        body["component"] = _prepare_component(component, base, target, upload)
    return body


def _prepare_component(
    component: Mapping[str, Any], base: Path, target: str, upload: Upload
) -> dict[str, Any]:
    prepared = dict(component)
    if "code" in prepared:
        prepared["code"] = prepare_code(prepared["code"], base, target, upload)
    if "environment" in prepared:
        prepared["environment"] = prepare_environment(prepared["environment"], base)
    return prepared

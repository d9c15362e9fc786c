"""MLflow models: what a model folder's ``MLmodel`` file declares, read when it is registered,
and the environment a deployment without a scoring script builds from it.

The server never imports MLflow: ``MLmodel`` is YAML, its signature JSON text, and the
requirements plain files. MLflow itself is loaded only in the deployment's environment, by the
driver the batch workers run (``wharf/batch/mlflow_driver.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml
from sqlalchemy.orm import Session

from wharf.errors import Invalid
from wharf.services import job_storage
from wharf.services.platform import Platform
from wharf.storage.resolver import Location
from wharf.store.models import Workspace

MLMODEL = "MLmodel"
MAX_FILE = 1024 * 1024
# Where a model folder declares its packages, in the order Azure ML reads them.
REQUIREMENT_SOURCES = ("requirements.txt", "conda.yaml", "python_env.yaml")
# The driver reads inputs with pandas, which an MLflow model's files need not list.
DRIVER_REQUIREMENTS = ("pandas",)


def read_mlflow_model(
    session: Session, platform: Platform, workspace: Workspace, reference: str
) -> dict[str, Any]:
    """The ``mlflow`` properties of a model folder: flavours, signature, requirements and
    where they came from. Invalid when there is no ``MLmodel`` or it has no python_function
    flavour (which ``mlflow.pyfunc.load_model`` needs)."""
    location = job_storage.locate(session, platform, workspace, reference, what="path")
    text = _read(location, MLMODEL)
    if text is None:
        raise Invalid(
            f"{reference} has no {MLMODEL} file: an MLflow model is the folder that "
            "mlflow.<flavor>.save_model wrote",
            field="path",
        )
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Invalid(f"{MLMODEL} is not valid YAML: {exc}", field="path") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("flavors"), Mapping):
        raise Invalid(f"{MLMODEL} declares no flavors", field="path")
    flavors = sorted(str(name) for name in document["flavors"])
    if "python_function" not in flavors:
        raise Invalid(
            f"the MLflow model has no python_function flavour (it has {', '.join(flavors)}): "
            "Wharf scores MLflow models with mlflow.pyfunc",
            field="path",
        )
    requirements, source = _requirements(location)
    return {
        "flavors": flavors,
        "loader_module": document["flavors"]["python_function"].get("loader_module"),
        "python_version": document["flavors"]["python_function"].get("python_version"),
        "mlflow_version": document.get("mlflow_version"),
        "signature": _signature(document.get("signature")),
        "requirements": requirements,
        "requirements_source": source,
    }


def driver_requirements(declared: list[str]) -> list[str]:
    """The model's requirements plus what the driver itself needs and the model left out."""
    names = {_name(line) for line in declared}
    return [*declared, *(r for r in DRIVER_REQUIREMENTS if r not in names)]


def _read(location: Location, name: str) -> str | None:
    path = location.path.rstrip("/") + "/" + name
    with location.translate_errors():
        if not location.fs.exists(path):
            return None
        with location.fs.open(path, "rb") as handle:
            data = handle.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise Invalid(f"{name} is larger than {MAX_FILE} bytes", field="path")
    return bytes(data).decode("utf-8", errors="replace")


def _signature(signature: Any) -> dict[str, Any] | None:
    """The signature's inputs and outputs as lists of column specs (MLflow keeps them as JSON
    text inside the YAML)."""
    if not isinstance(signature, Mapping):
        return None
    parsed: dict[str, Any] = {}
    for part in ("inputs", "outputs"):
        value = signature.get(part)
        try:
            parsed[part] = json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError:
            raise Invalid(f"{MLMODEL}: signature {part} is not valid JSON", field="path") from None
    return parsed


def _requirements(location: Location) -> tuple[list[str], str | None]:
    for name in REQUIREMENT_SOURCES:
        text = _read(location, name)
        if text is None:
            continue
        if name == "requirements.txt":
            lines = [line.split(" #", 1)[0].strip() for line in text.splitlines()]
            return [line for line in lines if line and not line.startswith("#")], name
        try:
            document = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise Invalid(f"{name} is not valid YAML: {exc}", field="path") from None
        if not isinstance(document, Mapping):
            continue
        if name == "conda.yaml":
            found = [
                str(item)
                for dependency in document.get("dependencies") or []
                if isinstance(dependency, Mapping)
                for item in dependency.get("pip") or []
            ]
        else:
            found = [str(item) for item in document.get("dependencies") or []]
        return [line for line in found if not line.startswith("-r ")], name
    return [], None


def _name(requirement: str) -> str:
    for separator in "=<>!~[; @":
        requirement = requirement.split(separator, 1)[0]
    return requirement.strip().lower().replace("_", "-")

"""The console's Create job form: what a deployment asks for (its inputs, outputs and the
settings a job may override), and the posted form read into an
:class:`~wharf.services.job_invoke.InvokeSpec`, as ``job_requests`` reads the JSON bodies.

Form fields, in Azure ML's order: ``deployment``; the overrides (``mini_batch_size``,
``instance_count``, ``retry_settings.max_retries``, ``retry_settings.timeout``,
``error_threshold``, ``output_file_name``; empty keeps the deployment's); per input ``N``
``inputs.N.source`` (``asset``, ``datastore``, ``reference`` or ``literal``) with
``inputs.N.asset`` + ``inputs.N.version``, ``inputs.N.datastore`` + ``inputs.N.path``,
``inputs.N.reference`` or ``inputs.N.value``; per output ``N`` ``outputs.N.destination``
(``default`` or ``datastore``) with ``outputs.N.datastore`` + ``outputs.N.path``; then
``experiment_name``. An error's ``field`` names the input (``inputs.N``), output
(``outputs.N``) or override (``params_override.<setting>``) it is about.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wharf.batch.components import ComponentInput
from wharf.errors import Invalid
from wharf.services.job_invoke import (
    DATA_TYPES,
    MODEL_OUTPUT,
    InputValue,
    InvokeSpec,
    OutputValue,
)
from wharf.store.models import BatchDeployment

MODEL_INPUT = "input"
"""The name a model deployment's one data input gets (the SDK's and CLI's too)."""
OVERRIDES = (
    ("mini_batch_size", "Mini-batch size", "files per mini-batch"),
    ("instance_count", "Instance count", "instances the job runs on"),
    (
        "retry_settings.max_retries",
        "Max retries",
        "tries after the first before a mini-batch fails",
    ),
    ("retry_settings.timeout", "Timeout (seconds)", "how long one run() call may take"),
    ("error_threshold", "Error threshold", "failed items tolerated; -1 never fails the job"),
    ("output_file_name", "Output file name", "its extension picks the format"),
)
"""The settings a job may override: form field, label, hint."""
INPUT_SOURCES = ("asset", "datastore", "reference", "literal")
OUTPUT_DESTINATIONS = ("default", "datastore")


@dataclass(frozen=True)
class InputSlot:
    """One input the deployment takes. ``type`` None: a data input that may be a file or a
    folder (a model deployment's)."""

    name: str
    type: str | None
    optional: bool = False
    default: Any = None
    description: str | None = None

    @property
    def is_data(self) -> bool:
        return self.type is None or self.type in DATA_TYPES


@dataclass(frozen=True)
class OutputSlot:
    name: str
    type: str
    description: str | None = None


@dataclass(frozen=True)
class Override:
    """A setting a job may override, with the deployment's value shown as the placeholder."""

    field: str
    label: str
    hint: str
    current: Any


@dataclass(frozen=True)
class InvokeShape:
    """What the form shows for one deployment."""

    deployment: str
    type: str
    inputs: list[InputSlot]
    outputs: list[OutputSlot]
    overrides: list[Override]


def describe_invoke(deployment: BatchDeployment) -> InvokeShape:
    """A model deployment takes one data input and writes ``score``, with settings a job may
    override; a component or pipeline takes and writes what it declares."""
    if deployment.type == "model":
        settings = deployment.settings
        overrides = [
            Override(field, label, hint, _setting(settings, field))
            for field, label, hint in OVERRIDES
        ]
        output_type = (
            "uri_folder" if settings.get("output_action") == "summary_only" else "uri_file"
        )
        return InvokeShape(
            deployment.name,
            deployment.type,
            [InputSlot(MODEL_INPUT, None)],
            [OutputSlot(MODEL_OUTPUT, output_type)],
            overrides,
        )
    declared = deployment.component.get("inputs", {})
    inputs = []
    for name, spec in declared.items():
        checked = ComponentInput.model_validate(spec)
        inputs.append(
            InputSlot(name, checked.type, checked.optional, checked.default, checked.description)
        )
    outputs = [
        OutputSlot(name, spec.get("type", "uri_folder"), spec.get("description"))
        for name, spec in deployment.component.get("outputs", {}).items()
    ]
    return InvokeShape(deployment.name, deployment.type, inputs, outputs, [])


def _setting(settings: Mapping[str, Any], dotted: str) -> Any:
    value: Any = settings
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def read_invoke_form(form: Mapping[str, str], shape: InvokeShape) -> InvokeSpec:
    """The invoke a posted form asks for; fields the deployment does not take are ignored."""
    overrides = {
        field: text
        for field, *_ in OVERRIDES
        if shape.overrides and (text := form.get(field, "").strip())
    }
    inputs = {}
    for slot in shape.inputs:
        value = _read_input(form, slot)
        if value is not None:
            inputs[slot.name] = value
    outputs = {}
    for output in shape.outputs:
        path = _read_output(form, output.name)
        if path is not None:
            outputs[output.name] = OutputValue(path=path)
    return InvokeSpec(
        deployment=shape.deployment,
        inputs=inputs,
        outputs=outputs,
        experiment_name=form.get("experiment_name", "").strip() or None,
        params_override=overrides,
    )


def _read_input(form: Mapping[str, str], slot: InputSlot) -> InputValue | None:
    def get(part: str) -> str:
        return form.get(f"inputs.{slot.name}.{part}", "").strip()

    field = f"inputs.{slot.name}"
    source = get("source") or ("asset" if slot.is_data else "literal")
    if source not in INPUT_SOURCES:
        raise Invalid(f"input {slot.name!r}: unknown source {source!r}", field=field)
    if source == "literal":
        if slot.is_data:
            raise Invalid(f"input {slot.name!r} is data: pick a data asset or a path", field=field)
        value = get("value")
        return InputValue(type=None, value=value) if value else None
    if not slot.is_data:
        raise Invalid(f"input {slot.name!r} is a {slot.type}: give a value", field=field)
    if source == "asset":
        name, version = get("asset"), get("version") or "latest"
        if not name:
            return None if slot.optional else _missing(slot, "pick a data asset")
        reference = f"data:{name}@latest" if version == "latest" else f"data:{name}:{version}"
    elif source == "datastore":
        datastore, path = get("datastore") or "default", get("path").lstrip("/")
        if not path:
            return None if slot.optional else _missing(slot, "give a path in the datastore")
        reference = datastore_path(datastore, path)
    else:
        reference = get("reference")
        if not reference:
            return None if slot.optional else _missing(slot, "type a reference")
    return InputValue(type=slot.type, path=reference)


def _missing(slot: InputSlot, what: str) -> InputValue | None:
    if slot.default is not None:
        return None  # the deployment's default applies
    raise Invalid(f"input {slot.name!r} is required: {what}", field=f"inputs.{slot.name}")


def _read_output(form: Mapping[str, str], name: str) -> str | None:
    destination = form.get(f"outputs.{name}.destination", "default")
    if destination == "default":
        return None
    if destination not in OUTPUT_DESTINATIONS:
        raise Invalid(
            f"output {name!r}: unknown destination {destination!r}", field=f"outputs.{name}"
        )
    datastore = form.get(f"outputs.{name}.datastore", "").strip() or "default"
    path = form.get(f"outputs.{name}.path", "").strip().lstrip("/")
    if not path:
        raise Invalid(
            f"output {name!r}: give a path in datastore {datastore!r}, or keep the default",
            field=f"outputs.{name}",
        )
    return datastore_path(datastore, path)


def datastore_path(datastore: str, path: str) -> str:
    return f"wharf://datastores/{datastore}/paths/{path}"

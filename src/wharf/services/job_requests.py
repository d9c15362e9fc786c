"""The two invoke body shapes (Wharf's native one and Azure ML's ``properties.InputData``) and
the deployment headers, read into one :class:`~wharf.services.job_invoke.InvokeSpec`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wharf.errors import Invalid
from wharf.schemas import batch as schemas
from wharf.services.job_invoke import InputValue, InvokeSpec, OutputValue

_AZURE_INPUT_TYPES = {"urifolder": "uri_folder", "urifile": "uri_file", "literal": "literal"}
_AZURE_OUTPUT_TYPES = {"urifolder": "uri_folder", "urifile": "uri_file"}


def _literal_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _native_input(value: schemas.JobInput | schemas.Scalar) -> InputValue:
    if not isinstance(value, schemas.JobInput):
        return InputValue(type=_literal_type(value), value=value)
    if value.path is not None and value.value is not None:
        raise Invalid("give an input a path or a value, not both", field="inputs")
    return InputValue(type=value.type, path=value.path, value=value.value)


def _native_output(value: schemas.JobOutput | str) -> OutputValue:
    if isinstance(value, str):
        return OutputValue(path=value)
    return OutputValue(type=value.type, path=value.path)


def _azure_type(kind: str, known: dict[str, str], name: str, field: str) -> str:
    found = known.get(kind.replace("_", "").lower())
    if found is None:
        raise Invalid(
            f"{field} {name!r} has type {kind!r}; Wharf supports {', '.join(known)}",
            field=f"{field}.{name}",
        )
    return found


def _from_azure(properties: schemas.AzureInvokeProperties, deployment: str | None) -> InvokeSpec:
    inputs = {}
    for name, value in properties.InputData.items():
        kind = _azure_type(value.JobInputType, _AZURE_INPUT_TYPES, name, "InputData")
        if kind == "literal":
            inputs[name] = InputValue(type=_literal_type(value.Value), value=value.Value)
        else:
            inputs[name] = InputValue(type=kind, path=value.Uri)
    outputs = {
        name: OutputValue(
            type=_azure_type(value.JobOutputType, _AZURE_OUTPUT_TYPES, name, "OutputData"),
            path=value.Uri,
        )
        for name, value in properties.OutputData.items()
    }
    extra = properties.properties
    return InvokeSpec(
        deployment=deployment,
        inputs=inputs,
        outputs=outputs,
        experiment_name=extra.get("experimentName") or extra.get("experiment_name"),
        job_name=extra.get("jobName") or extra.get("job_name"),
    )


def read_invoke(body: schemas.JobInvoke | None, *headers: str | None) -> InvokeSpec:
    """The invoke a request asks for. ``headers`` are the deployment headers
    (``wharf-deployment``, ``azureml-model-deployment``); they and the body must agree."""
    body = body or schemas.JobInvoke()
    named = {name for name in (body.deployment, *headers) if name}
    if len(named) > 1:
        raise Invalid(
            f"the request names more than one deployment ({', '.join(sorted(named))}): give one",
            field="deployment",
        )
    deployment = next(iter(named), None)
    if body.properties is not None:
        native = body.model_dump(exclude={"properties", "deployment"}, exclude_defaults=True)
        if native:
            raise Invalid(
                f"give Azure's properties alone, or the native body without properties (also "
                f"got {', '.join(native)})",
                field="properties",
            )
        return _from_azure(body.properties, deployment)
    return InvokeSpec(
        deployment=deployment,
        inputs={name: _native_input(value) for name, value in body.inputs.items()},
        outputs={name: _native_output(value) for name, value in body.outputs.items()},
        experiment_name=body.experiment_name,
        job_name=body.job_name,
        params_override=flatten_overrides(body.params_override),
    )


def flatten_overrides(
    overrides: Mapping[str, Any] | Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """``params_override`` as nested settings: Azure's list of one-key dicts is merged, and a
    dotted key (``retry_settings.timeout``) becomes a nested one."""
    items: list[tuple[str, Any]] = []
    for part in [overrides] if isinstance(overrides, Mapping) else overrides:
        items.extend(part.items())
    nested: dict[str, Any] = {}
    for key, value in items:
        head, _, rest = key.partition(".")
        if rest:
            nested.setdefault(head, {})
            if not isinstance(nested[head], dict):
                raise Invalid(f"params_override: {key!r} conflicts with {head!r}")
            nested[head][rest] = value
        elif isinstance(value, Mapping) and isinstance(nested.get(key), dict):
            nested[key].update(value)
        else:
            nested[key] = value
    return nested

"""``wharf batch-endpoint invoke`` arguments as one invoke request: ``--set``, ``--file``, flags.

Azure ML CLI spellings work: ``--set inputs.X.type=uri_folder inputs.X.path=./data
inputs.Y=5``, ``--file inputs.yml`` holding ``inputs:`` / ``outputs:``, ``--input`` with
``--input-type``. Values are only translated here; the server checks them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wharf.sdk import InvalidRequestError
from wharf.sdk._batch_specs import read_yaml_mapping, resolve_local
from wharf.sdk._storage import is_local_path

_INPUT_FIELDS = ("type", "path", "value", "default", "mode")
_OUTPUT_FIELDS = ("type", "path", "mode")
_SETTINGS_PREFIXES = ("settings", "params_override")
# Settings az users set without a prefix (--set output_file_name=x.csv).
_BARE_SETTINGS = (
    "output_file_name",
    "mini_batch_size",
    "max_concurrency_per_instance",
    "error_threshold",
    "logging_level",
    "output_action",
    "mini_batch_rows",
)
_TOP_LEVEL = ("experiment_name", "job_name", "name", "deployment_name", "description")
_FILE_KEYS = ("inputs", "outputs", "settings", "params_override", *_TOP_LEVEL)


def invalid(message: str) -> InvalidRequestError:
    return InvalidRequestError(422, "invalid", message)


@dataclass
class InvokeArgs:
    """What the command line asks for, before any upload."""

    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    params_override: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    """``experiment_name``, ``job_name``, ``deployment_name``, ``description``."""


def scalar(text: str) -> Any:
    """A settings value typed as YAML reads it (``10`` → 10, ``true`` → True)."""
    try:
        return yaml.safe_load(text) if text else ""
    except yaml.YAMLError:
        return text


def apply_set(args: InvokeArgs, pairs: list[str]) -> None:
    """Apply ``--set KEY=VALUE`` pairs. Keys: ``inputs.X`` (a literal), ``inputs.X.type``,
    ``inputs.X.path``, ``inputs.X.value``, ``outputs.X.type``, ``outputs.X.path``,
    ``settings.S`` / ``params_override.S`` (``retry_settings.timeout`` too), and
    ``experiment_name``, ``job_name``, ``deployment_name``, ``description``."""
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise invalid(f"--set {pair!r} is not KEY=VALUE")
        parts = key.split(".")
        head = parts[0]
        if head == "inputs" and len(parts) in (2, 3):
            _set_input(args.inputs, parts[1:], value, pair)
        elif head == "outputs" and len(parts) == 3 and parts[2] in _OUTPUT_FIELDS:
            output = args.outputs.setdefault(parts[1], {})
            if not isinstance(output, dict):
                output = args.outputs[parts[1]] = {"path": output}
            output[parts[2]] = value
        elif head in _SETTINGS_PREFIXES and len(parts) >= 2:
            _set_nested(args.params_override, parts[1:], scalar(value))
        elif head in _BARE_SETTINGS or head == "retry_settings":
            _set_nested(args.params_override, parts, scalar(value))
        elif len(parts) == 1 and head in _TOP_LEVEL:
            args.fields["job_name" if head == "name" else head] = value
        else:
            raise invalid(
                f"--set {key}: unknown key; use inputs.<name>[.type|.path|.value], "
                "outputs.<name>.type|.path, settings.<setting>, experiment_name or job_name"
            )


def _set_input(inputs: dict[str, Any], parts: list[str], value: str, pair: str) -> None:
    name = parts[0]
    if not name:
        raise invalid(f"--set {pair!r} names no input")
    if len(parts) == 1:
        inputs[name] = value
        return
    if parts[1] not in _INPUT_FIELDS:
        raise invalid(
            f"--set {pair!r}: inputs.{name}.{parts[1]} is not a field; use type, path or value"
        )
    current = inputs.setdefault(name, {})
    if not isinstance(current, dict):
        current = inputs[name] = {"value": current}
    current[parts[1]] = value


def _set_nested(target: dict[str, Any], parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        inner = target.setdefault(part, {})
        if not isinstance(inner, dict):
            raise invalid(f"--set settings.{'.'.join(parts)}: {part} is not a group")
        target = inner
    target[parts[-1]] = value


def apply_file(args: InvokeArgs, path: Path) -> None:
    """Merge an invoke YAML file (``inputs:``, ``outputs:``, ``settings:``, names); relative
    local paths in it are relative to the file."""
    spec = read_yaml_mapping(path, "--file")
    spec.pop("$schema", None)
    unknown = sorted(set(spec) - set(_FILE_KEYS))
    if unknown:
        raise invalid(
            f"{path}: unknown key {unknown[0]!r}; expected one of {', '.join(_FILE_KEYS)}"
        )
    for key in ("inputs", "outputs", "settings", "params_override"):
        if spec.get(key) is not None and not isinstance(spec[key], dict):
            raise invalid(f"{path}: {key} must be a mapping")
    for name, value in (spec.get("inputs") or {}).items():
        args.inputs[name] = _relative_to(value, path.parent)
    args.outputs.update(spec.get("outputs") or {})
    args.params_override.update(spec.get("settings") or {})
    args.params_override.update(spec.get("params_override") or {})
    for key in _TOP_LEVEL:
        if spec.get(key) is not None:
            args.fields["job_name" if key == "name" else key] = str(spec[key])


def _relative_to(value: Any, base: Path) -> Any:
    if isinstance(value, dict) and isinstance(value.get("path"), str):
        path = value["path"]
        if is_local_path(path) and not Path(path).is_absolute():
            return {**value, "path": str(resolve_local(path, base))}
    return value


def _input_type(path: str) -> str | None:
    """``--input`` without ``--input-type``, as az reads it: a local file is a uri_file, a
    local folder a uri_folder; for a reference the server finds which it is."""
    local = Path(path).expanduser()
    if is_local_path(path) and local.exists():
        return "uri_file" if local.is_file() else "uri_folder"
    return None


def build_invoke_args(
    *,
    file: Path | None,
    set_pairs: list[str],
    input: str | None,
    input_type: str | None,
    output_path: str | None,
    mini_batch_size: int | None,
    instance_count: int | None,
    fields: dict[str, str | None],
) -> InvokeArgs:
    """Everything given on the command line, in order of precedence: the file, then ``--set``,
    then the explicit flags."""
    args = InvokeArgs()
    if file is not None:
        apply_file(args, file)
    apply_set(args, set_pairs)
    if input_type is not None and input is None:
        raise invalid("--input-type needs --input")
    if input is not None:
        args.fields["input"] = {"type": input_type or _input_type(input), "path": input}
    if output_path is not None:
        args.fields["output_path"] = output_path
    if mini_batch_size is not None:
        args.params_override["mini_batch_size"] = mini_batch_size
    if instance_count is not None:
        args.params_override["instance_count"] = instance_count
    args.fields.update({k: v for k, v in fields.items() if v is not None})
    return args

"""Pipeline component deployments: Azure ML's pipeline component YAML, checked and ordered.

A pipeline has ``inputs`` (data and literal, with ``default:``), ``outputs`` and ``jobs:`` of
command components. A step's ``command`` names its own ``${{inputs.x}}`` and ``${{outputs.y}}``;
its ``inputs:`` and ``outputs:`` wire those to ``${{parent.inputs.x}}``,
``${{parent.jobs.<step>.outputs.<y>}}``, ``${{parent.outputs.<y>}}`` or literal values. A
step's ``component:`` (inline) may hold the command, code, environment and declarations; the
step's own keys win. Everything is checked here, before any process runs, and the steps come
back in dependency order.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wharf.batch.components import ComponentInput, ComponentOutput
from wharf.errors import Invalid

_STEP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,62}$")
_BINDING = re.compile(
    r"^\$\{\{\s*parent\.(?:inputs\.(?P<input>[\w-]+)|outputs\.(?P<output>[\w-]+)|"
    r"jobs\.(?P<step>[\w-]+)\.outputs\.(?P<step_output>[\w-]+))\s*\}\}$"
)
_PLACEHOLDER = re.compile(r"\$\{\{\s*(inputs|outputs)\.([\w-]+)\s*\}\}")
_OPTIONAL = re.compile(r"\$\[\[(.*?)\]\]", re.DOTALL)


@dataclass(frozen=True)
class Binding:
    """Where a step's input or output comes from or goes to."""

    kind: str
    """``parent_input``, ``parent_output``, ``step_output`` or ``value``."""
    name: str = ""
    step: str = ""
    value: Any = None


@dataclass(frozen=True)
class PipelineStep:
    name: str
    command: str
    code: str | None
    environment: dict[str, Any] | None
    inputs: dict[str, Binding] = field(default_factory=dict)
    outputs: dict[str, Binding | None] = field(default_factory=dict)
    """None: the step's own output folder, kept with the job for download."""

    @property
    def needs(self) -> set[str]:
        return {b.step for b in self.inputs.values() if b.kind == "step_output"}


@dataclass(frozen=True)
class Pipeline:
    inputs: dict[str, ComponentInput]
    outputs: dict[str, ComponentOutput]
    steps: list[PipelineStep]
    """In dependency order."""


def parse_pipeline(data: Mapping[str, Any]) -> Pipeline:
    """A pipeline component from its YAML (as a mapping), or Invalid naming the broken part."""
    inputs = {
        name: _declared(ComponentInput, f"inputs.{name}", value)
        for name, value in _mapping(data.get("inputs"), "inputs").items()
    }
    outputs = {
        name: _declared(ComponentOutput, f"outputs.{name}", value)
        for name, value in _mapping(data.get("outputs"), "outputs").items()
    }
    jobs = _mapping(data.get("jobs"), "jobs")
    if not jobs:
        raise Invalid("a pipeline needs jobs: at least one command step", field="component.jobs")
    steps = {name: _step(name, body, inputs, outputs) for name, body in jobs.items()}
    for step in steps.values():
        for binding in step.inputs.values():
            if binding.kind != "step_output":
                continue
            source = steps.get(binding.step)
            if source is None or binding.name not in source.outputs:
                raise Invalid(
                    f"step {step.name!r} reads ${{{{parent.jobs.{binding.step}.outputs."
                    f"{binding.name}}}}}, which no step writes",
                    field=f"component.jobs.{step.name}.inputs",
                )
    bound = [b.name for s in steps.values() for b in s.outputs.values() if b is not None]
    for name in outputs:
        if bound.count(name) != 1:
            raise Invalid(
                f"pipeline output {name!r} must be written by exactly one step "
                "(outputs: {x: ${{parent.outputs." + name + "}}})",
                field=f"component.outputs.{name}",
            )
    return Pipeline(inputs, outputs, _ordered(steps))


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise Invalid(f"{where} must be a mapping", field=f"component.{where}")
    return dict(value)


def _declared(model: Any, where: str, value: Any) -> Any:
    try:
        return model.model_validate(value if isinstance(value, Mapping) else {"type": value})
    except ValueError as exc:
        raise Invalid(f"{where}: {exc}", field=f"component.{where}") from None


def _step(
    name: str,
    body: Any,
    inputs: Mapping[str, ComponentInput],
    outputs: Mapping[str, ComponentOutput],
) -> PipelineStep:
    where = f"component.jobs.{name}"
    if not _STEP_NAME.match(name):
        raise Invalid(f"step name {name!r} is not valid", field=where)
    if not isinstance(body, Mapping):
        raise Invalid(f"step {name!r} must be a mapping", field=where)
    component = body.get("component")
    merged = {**(component if isinstance(component, Mapping) else {}), **body}
    if merged.get("type", "command") != "command":
        raise Invalid(f"step {name!r}: only command steps are supported", field=f"{where}.type")
    command = merged.get("command")
    if not isinstance(command, str) or not command.strip():
        raise Invalid(f"step {name!r} needs a command", field=f"{where}.command")
    step_inputs = {
        k: _input(name, k, v, inputs) for k, v in _mapping(body.get("inputs"), where).items()
    }
    step_outputs = {
        k: _output(name, k, v, outputs) for k, v in _mapping(body.get("outputs"), where).items()
    }
    for kind, names in _PLACEHOLDER.findall(command):
        known = step_inputs if kind == "inputs" else step_outputs
        if names not in known and not _only_optional(command, kind, names):
            raise Invalid(
                f"step {name!r}: the command uses ${{{{{kind}.{names}}}}}, which the step's "
                f"{kind}: does not define",
                field=f"{where}.command",
            )
    environment = merged.get("environment")
    return PipelineStep(
        name=name,
        command=command.strip(),
        code=str(merged["code"]) if merged.get("code") is not None else None,
        environment=dict(environment) if isinstance(environment, Mapping) else None,
        inputs=step_inputs,
        outputs=step_outputs,
    )


def _input(step: str, name: str, value: Any, inputs: Mapping[str, ComponentInput]) -> Binding:
    if isinstance(value, Mapping):  # {type: ..., path: ${{...}}} or {value: ...}
        value = value.get("path", value.get("value", value.get("default")))
    if isinstance(value, str):
        match = _BINDING.match(value.strip())
        if match is not None:
            if match["input"]:
                if match["input"] not in inputs:
                    raise Invalid(
                        f"step {step!r} input {name!r} reads parent input {match['input']!r}, "
                        "which the pipeline does not declare",
                        field=f"component.jobs.{step}.inputs.{name}",
                    )
                return Binding("parent_input", match["input"])
            if match["step"]:
                return Binding("step_output", match["step_output"], step=match["step"])
            raise Invalid(
                f"step {step!r} input {name!r} reads a pipeline output",
                field=f"component.jobs.{step}.inputs.{name}",
            )
    return Binding("value", value=value)


def _output(
    step: str, name: str, value: Any, outputs: Mapping[str, ComponentOutput]
) -> Binding | None:
    if isinstance(value, Mapping):
        value = value.get("path")
    if value is None:
        return None
    match = _BINDING.match(str(value).strip())
    if match is None or not match["output"] or match["output"] not in outputs:
        raise Invalid(
            f"step {step!r} output {name!r} must be ${{{{parent.outputs.<name>}}}} of a "
            "declared pipeline output, or {type: uri_folder}",
            field=f"component.jobs.{step}.outputs.{name}",
        )
    return Binding("parent_output", match["output"])


def _only_optional(command: str, kind: str, name: str) -> bool:
    """A placeholder inside ``$[[...]]`` (Azure's optional part) may stay unbound."""
    return any((kind, name) in _PLACEHOLDER.findall(part) for part in _OPTIONAL.findall(command))


def _ordered(steps: Mapping[str, PipelineStep]) -> list[PipelineStep]:
    """The steps so that each comes after the steps it reads from (YAML order otherwise)."""
    done: list[PipelineStep] = []
    placed: set[str] = set()
    pending = list(steps.values())
    while pending:
        ready = [s for s in pending if s.needs <= placed]
        if not ready:
            names = ", ".join(s.name for s in pending)
            raise Invalid(
                f"the steps {names} read each other's outputs in a cycle", field="component.jobs"
            )
        for step in ready:
            done.append(step)
            placed.add(step.name)
        pending = [s for s in pending if s.name not in placed]
    return done


def render_command(command: str, values: Mapping[str, str | None]) -> list[str]:
    """The step's argv: ``${{inputs.x}}`` / ``${{outputs.y}}`` replaced by their values
    (``values`` keys are ``inputs.x`` / ``outputs.y``), each one argument whatever it holds;
    a ``$[[...]]`` part is dropped when a placeholder in it has no value."""

    def optional(match: re.Match[str]) -> str:
        part = match.group(1)
        keys = [f"{k}.{n}" for k, n in _PLACEHOLDER.findall(part)]
        return part if all(values.get(key) is not None for key in keys) else ""

    text = _OPTIONAL.sub(optional, command)
    argv: list[str] = []
    for word in shlex.split(text):
        found = _PLACEHOLDER.search(word)
        argv.append(
            _PLACEHOLDER.sub(lambda m: str(values.get(f"{m.group(1)}.{m.group(2)}") or ""), word)
            if found
            else word
        )
    return argv

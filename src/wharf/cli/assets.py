"""``wharf data`` and ``wharf model``: versioned data assets and models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from wharf.cli._files import read_spec, upload_progress
from wharf.cli._output import (
    OutputFormat,
    OutputOption,
    WorkspaceOption,
    emit,
    emit_or_confirm,
    open_client,
    print_success,
)
from wharf.sdk import Data, InvalidRequestError, Model
from wharf.storage.references import parse_asset_name

data_app = typer.Typer(help="Data assets: create, list, show, archive.", no_args_is_help=True)
model_app = typer.Typer(help="Models: create, list, show, archive.", no_args_is_help=True)

COLUMNS = [
    ("NAME", lambda v: v.name),
    ("VERSION", lambda v: v.version),
    ("TYPE", lambda v: getattr(v, "type", None) or getattr(v, "flavor", None)),
    ("PATH", lambda v: v.path),
    ("CREATED", lambda v: v.created_at),
    ("BY", lambda v: v.created_by),
]
VersionOption = Annotated[str | None, typer.Option("--version", "-v", help="a version")]
LabelOption = Annotated[str | None, typer.Option("--label", "-l", help="latest (the default)")]
NameOption = Annotated[str | None, typer.Option("--name", "-n", help="the name")]


def _pick(argument: str | None, option: str | None) -> str:
    """The name as an argument or as ``--name`` / ``-n`` (az's spelling)."""
    if argument and option and argument != option:
        raise InvalidRequestError(422, "invalid", "two different names given")
    if not (argument or option):
        raise InvalidRequestError(422, "invalid", "give the name (NAME or --name)")
    return argument or option or ""


def _version(version: str | None, label: str | None) -> str | None:
    if label is not None and label != "latest":
        raise InvalidRequestError(422, "invalid", f"unknown label {label!r}; only latest exists")
    if label is not None and version is not None:
        raise InvalidRequestError(422, "invalid", "give --version or --label, not both")
    return version


def _fields(file: Path | None, flags: dict[str, Any]) -> dict[str, Any]:
    spec = read_spec(file) if file else {}
    spec.pop("$schema", None)
    spec.update({k: v for k, v in flags.items() if v is not None})
    if not spec.get("name") or not spec.get("path"):
        raise InvalidRequestError(422, "invalid", "give --file, or --name and --path")
    if "version" in spec and spec["version"] is not None:
        spec["version"] = str(spec["version"])
    return spec


@data_app.command("create")
def create_data(
    file: Annotated[Path | None, typer.Option("--file", "-f", help="data asset YAML")] = None,
    name: Annotated[str | None, typer.Option(help="asset name")] = None,
    type: Annotated[str | None, typer.Option("--type", help="uri_file or uri_folder")] = None,
    path: Annotated[str | None, typer.Option(help="local path (uploaded) or a reference")] = None,
    version: VersionOption = None,
    description: Annotated[str | None, typer.Option(help="what the data is")] = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Register a data asset version (the next number unless --version). Local paths are
    uploaded to the default datastore. The YAML takes Azure ML's data-asset fields."""
    spec = _fields(
        file,
        {"name": name, "type": type, "path": path, "version": version, "description": description},
    )
    data = Data.model_validate(spec)
    with open_client(workspace) as client, upload_progress(data.path) as progress:
        created = client.data.create_or_update(data, progress=progress)
    emit_or_confirm(
        created, output, COLUMNS, f"data {created.name} version {created.version}: {created.path}"
    )


@data_app.command("list")
def list_data(
    name: Annotated[str | None, typer.Argument(help="list this asset's versions")] = None,
    archived: Annotated[bool, typer.Option(help="include archived")] = False,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """List data assets (their latest versions), or the versions of one."""
    with open_client(workspace) as client:
        emit(client.data.list(name, include_archived=archived), output, COLUMNS)


@data_app.command("show")
def show_data(
    name_argument: Annotated[
        str | None,
        typer.Argument(help="NAME, NAME@latest, NAME:VERSION or azureml:... (or use --name)"),
    ] = None,
    name: NameOption = None,
    version: VersionOption = None,
    label: LabelOption = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Show one version (default: latest)."""
    asset = parse_asset_name(_pick(name_argument, name), "data")
    version = _version(version, label) or asset.version
    with open_client(workspace) as client:
        emit(client.data.get(asset.name, version), output, COLUMNS)


@data_app.command("archive")
def archive_data(
    name: str, version: VersionOption = None, workspace: WorkspaceOption = None
) -> None:
    """Hide an asset (or one version) from listings and latest; explicit versions still work."""
    with open_client(workspace) as client:
        client.data.archive(name, version)
    print_success(f"data {name}{' version ' + version if version else ''} archived")


@model_app.command("create")
def create_model(
    file: Annotated[Path | None, typer.Option("--file", "-f", help="model YAML")] = None,
    name: Annotated[str | None, typer.Option(help="model name")] = None,
    path: Annotated[str | None, typer.Option(help="local folder (uploaded) or a reference")] = None,
    flavor: Annotated[str | None, typer.Option(help="custom or mlflow")] = None,
    type: Annotated[
        str | None, typer.Option("--type", help="Azure's spelling: custom_model or mlflow_model")
    ] = None,
    version: VersionOption = None,
    description: Annotated[str | None, typer.Option(help="what the model is")] = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Register a model version: a folder of files (uploaded when local) and a flavor."""
    spec = _fields(
        file,
        {
            "name": name,
            "path": path,
            "flavor": flavor,
            "type": type,
            "version": version,
            "description": description,
        },
    )
    model = Model.model_validate(spec)
    with open_client(workspace) as client, upload_progress(model.path) as progress:
        created = client.models.create_or_update(model, progress=progress)
    emit_or_confirm(
        created, output, COLUMNS, f"model {created.name} version {created.version}: {created.path}"
    )


@model_app.command("list")
def list_models(
    name: Annotated[str | None, typer.Argument(help="list this model's versions")] = None,
    archived: Annotated[bool, typer.Option(help="include archived")] = False,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """List models (their latest versions), or the versions of one."""
    with open_client(workspace) as client:
        emit(client.models.list(name, include_archived=archived), output, COLUMNS)


@model_app.command("show")
def show_model(
    name_argument: Annotated[
        str | None,
        typer.Argument(help="NAME, NAME@latest, NAME:VERSION or azureml:... (or use --name)"),
    ] = None,
    name: NameOption = None,
    version: VersionOption = None,
    label: LabelOption = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Show one version (default: latest)."""
    model = parse_asset_name(_pick(name_argument, name), "model")
    version = _version(version, label) or model.version
    with open_client(workspace) as client:
        found = client.models.get(model.name, version)
    emit(found, output, COLUMNS)
    if output is OutputFormat.table:
        for line in mlflow_lines(getattr(found, "properties", None) or {}):
            typer.echo(line)


def mlflow_lines(properties: dict[str, Any]) -> list[str]:
    """What ``model show`` adds for an MLflow model: flavours, signature, requirements."""
    mlflow = properties.get("mlflow")
    if not isinstance(mlflow, dict):
        return []
    lines = [f"flavors: {', '.join(mlflow.get('flavors') or [])}"]
    signature = mlflow.get("signature") or {}
    for part in ("inputs", "outputs"):
        columns = signature.get(part) or []
        shown = ", ".join(
            f"{c.get('name', '-')}: {c.get('type')}" if isinstance(c, dict) else str(c)
            for c in columns
        )
        lines.append(f"signature {part}: {shown or '-'}")
    source = mlflow.get("requirements_source") or "none"
    lines.append(f"requirements ({source}): {', '.join(mlflow.get('requirements') or []) or '-'}")
    return lines


@model_app.command("archive")
def archive_model(
    name: str, version: VersionOption = None, workspace: WorkspaceOption = None
) -> None:
    """Hide a model (or one version) from listings and latest."""
    with open_client(workspace) as client:
        client.models.archive(name, version)
    print_success(f"model {name}{' version ' + version if version else ''} archived")

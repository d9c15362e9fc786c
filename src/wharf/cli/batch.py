"""``wharf batch-endpoint`` and ``wharf batch-deployment``: endpoints, deployments, invoke."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated, Any

import typer

from wharf.cli._files import upload_progress
from wharf.cli._invoke_args import InvokeArgs, apply_set, build_invoke_args
from wharf.cli._output import (
    OutputFormat,
    OutputOption,
    WorkspaceOption,
    emit,
    emit_or_confirm,
    open_client,
    print_json,
    print_success,
)
from wharf.cli.jobs import JOB_COLUMNS
from wharf.sdk import BatchDeployment, Input, InvalidRequestError
from wharf.sdk._batch import merge
from wharf.sdk._batch_specs import read_yaml_mapping
from wharf.sdk._storage import Progress

endpoint_app = typer.Typer(
    help="Batch endpoints: create, list, show, update, delete, invoke.", no_args_is_help=True
)
deployment_app = typer.Typer(
    help="Batch deployments of an endpoint: create, list, show, update, delete.",
    no_args_is_help=True,
)

ENDPOINT_COLUMNS = [
    ("NAME", lambda e: e.name),
    ("DEFAULT DEPLOYMENT", lambda e: e.default_deployment),
    ("DEPLOYMENTS", lambda e: e.deployments),
    ("INVOKE URL", lambda e: e.invoke_url),
    ("CREATED", lambda e: e.created_at),
    ("BY", lambda e: e.created_by),
]
DEPLOYMENT_COLUMNS = [
    ("NAME", lambda d: d.name),
    ("ENDPOINT", lambda d: d.endpoint_name),
    ("KIND", lambda d: d.kind),
    ("DEFAULT", lambda d: d.is_default),
    ("MODEL", lambda d: d.model),
    ("REVISION", lambda d: d.revision),
    ("CREATED", lambda d: d.created_at),
]

NameArgument = Annotated[str | None, typer.Argument(help="the name (or use --name)")]
NameOption = Annotated[str | None, typer.Option("--name", "-n", help="the name")]
EndpointOption = Annotated[
    str | None, typer.Option("--endpoint-name", "-e", help="the deployment's endpoint")
]
FileOption = Annotated[Path | None, typer.Option("--file", "-f", help="YAML spec")]


def pick_name(argument: str | None, option: str | None, what: str) -> str:
    """The name given as an argument or as ``--name`` (Azure ML CLI style)."""
    if argument and option and argument != option:
        raise InvalidRequestError(422, "invalid", f"two different {what} names given")
    name = argument or option
    if not name:
        raise InvalidRequestError(422, "invalid", f"give the {what} name (NAME or --name)")
    return name


@endpoint_app.command("create")
def create_endpoint(
    file: FileOption = None,
    name: NameOption = None,
    description: Annotated[str | None, typer.Option(help="what the endpoint is for")] = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Create a batch endpoint from ep.yml (Azure ML's batch endpoint YAML) or --name. Names:
    3-32 letters, digits and dashes, a letter first."""
    spec: dict[str, Any] = read_yaml_mapping(file, "--file") if file else {}
    spec.update({k: v for k, v in {"name": name, "description": description}.items() if v})
    if not spec.get("name"):
        raise InvalidRequestError(422, "invalid", "give --file or --name")
    with open_client(workspace) as client:
        created = client.batch_endpoints.create_or_update(spec)
    emit_or_confirm(
        created,
        output,
        ENDPOINT_COLUMNS,
        f"batch endpoint {created.name}: POST {created.invoke_url}",
    )


@endpoint_app.command("list")
def list_endpoints(
    workspace: WorkspaceOption = None, output: OutputOption = OutputFormat.table
) -> None:
    """List batch endpoints with their default deployment and invoke URL."""
    with open_client(workspace) as client:
        emit(client.batch_endpoints.list(), output, ENDPOINT_COLUMNS)


@endpoint_app.command("show")
def show_endpoint(
    name_argument: NameArgument = None,
    name: NameOption = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Show an endpoint: its deployments, default deployment and invoke URL."""
    endpoint = pick_name(name_argument, name, "endpoint")
    with open_client(workspace) as client:
        found = client.batch_endpoints.get(endpoint)
    emit(found, output, ENDPOINT_COLUMNS)


@endpoint_app.command("update")
def update_endpoint(
    name_argument: NameArgument = None,
    name: NameOption = None,
    default_deployment: Annotated[
        str | None, typer.Option(help="make this deployment the default")
    ] = None,
    description: Annotated[str | None, typer.Option(help="a new description")] = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Change an endpoint's default deployment or description."""
    endpoint = pick_name(name_argument, name, "endpoint")
    with open_client(workspace) as client:
        updated = client.batch_endpoints.update(
            endpoint, description=description, default_deployment=default_deployment
        )
    emit_or_confirm(
        updated,
        output,
        ENDPOINT_COLUMNS,
        f"batch endpoint {endpoint} updated (default: {updated.default_deployment})",
    )


@endpoint_app.command("delete")
def delete_endpoint(
    name_argument: NameArgument = None,
    name: NameOption = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Delete an endpoint and its deployments; its jobs are kept."""
    endpoint = pick_name(name_argument, name, "endpoint")
    with open_client(workspace) as client:
        client.batch_endpoints.delete(endpoint)
    if output is OutputFormat.json:
        print_json({"deleted": endpoint})
    else:
        print_success(f"batch endpoint {endpoint} deleted")


@endpoint_app.command(
    "invoke", context_settings={"allow_interspersed_args": True}, no_args_is_help=True
)
def invoke(
    name: Annotated[str, typer.Option("--name", "-n", "--endpoint-name", help="the endpoint")],
    more_set: Annotated[
        list[str] | None,
        typer.Argument(metavar="KEY=VALUE", help="more --set pairs, Azure CLI style"),
    ] = None,
    deployment_name: Annotated[
        str | None, typer.Option("--deployment-name", "-d", help="default: the default one")
    ] = None,
    input: Annotated[
        str | None,
        typer.Option(help="the data input of a model deployment: a reference or a local path"),
    ] = None,
    input_type: Annotated[str | None, typer.Option(help="uri_folder (default) or uri_file")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="inputs.X.type=uri_folder inputs.X.path=REF, inputs.Y=VALUE (a literal), "
            "outputs.X.path=REF, settings.S=VALUE, experiment_name=E; repeat",
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="YAML with inputs:, outputs:, settings:"),
    ] = None,
    experiment_name: Annotated[str | None, typer.Option(help="default: the endpoint")] = None,
    output_path: Annotated[
        str | None, typer.Option(help="where the score output goes (a wharf:// path)")
    ] = None,
    job_name: Annotated[str | None, typer.Option(help="default: generated")] = None,
    mini_batch_size: Annotated[int | None, typer.Option(help="files per mini-batch")] = None,
    instance_count: Annotated[int | None, typer.Option(help="instances to run on")] = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Start a job on an endpoint (its default deployment unless --deployment-name). Local paths
    are uploaded to the default datastore first. Follow the job with 'wharf job stream'."""
    args = build_invoke_args(
        file=file,
        set_pairs=[*(set_ or []), *(more_set or [])],
        input=input,
        input_type=input_type,
        output_path=output_path,
        mini_batch_size=mini_batch_size,
        instance_count=instance_count,
        fields={
            "deployment_name": deployment_name,
            "experiment_name": experiment_name,
            "job_name": job_name,
        },
    )
    single = args.fields.get("input")
    # A bar for the upload of a local --input; other local paths upload without one.
    shown: AbstractContextManager[Progress | None] = (
        upload_progress(single["path"]) if single else nullcontext()
    )
    with open_client(workspace) as client, shown as progress:
        job = client.batch_endpoints.invoke(
            name,
            deployment_name=args.fields.get("deployment_name"),
            inputs=args.inputs,
            input=Input.model_validate(single) if single else None,
            outputs=args.outputs,
            output_path=args.fields.get("output_path"),
            experiment_name=args.fields.get("experiment_name"),
            job_name=args.fields.get("job_name"),
            params_override=args.params_override,
            progress=progress,
        )
    emit(job, output, JOB_COLUMNS)
    if output is OutputFormat.table:
        print_success(f"job {job.name} {job.status}: follow it with 'wharf job stream {job.name}'")


def _deployment_spec(
    file: Path | None, name: str | None, endpoint: str | None
) -> tuple[dict[str, Any], str | None]:
    spec: dict[str, Any] = read_yaml_mapping(file, "--file") if file else {}
    spec.pop("$schema", None)
    if name:
        spec["name"] = name
    if endpoint:
        spec["endpoint_name"] = endpoint
    base = str(file.resolve().parent) if file else None
    return spec, base


@deployment_app.command("create")
def create_deployment(
    file: Annotated[Path, typer.Option("--file", "-f", help="deployment YAML")],
    name: NameOption = None,
    endpoint_name: EndpointOption = None,
    set_default: Annotated[
        bool, typer.Option("--set-default", help="make it the endpoint's default deployment")
    ] = False,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Create a deployment from dep.yml (Azure ML's batch deployment YAML). The local code
    folder is uploaded and its environment built before this returns. The first deployment of
    an endpoint is its default."""
    spec, base = _deployment_spec(file, name, endpoint_name)
    with open_client(workspace) as client:
        created = client.batch_deployments.create(
            BatchDeployment.model_validate({**spec, "base_path": base}), set_default=set_default
        )
    if output is OutputFormat.json:
        emit(created, output, DEPLOYMENT_COLUMNS)
    else:
        default = " (default)" if created.is_default else ""
        print_success(
            f"batch deployment {created.endpoint_name}/{created.name}{default}: {created.kind}"
        )


@deployment_app.command("list")
def list_deployments(
    endpoint_argument: Annotated[
        str | None, typer.Argument(help="the endpoint (or use --endpoint-name)")
    ] = None,
    endpoint_name: EndpointOption = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """List an endpoint's deployments."""
    endpoint = pick_name(endpoint_argument, endpoint_name, "endpoint")
    with open_client(workspace) as client:
        emit(client.batch_deployments.list(endpoint), output, DEPLOYMENT_COLUMNS)


@deployment_app.command("show")
def show_deployment(
    name_argument: NameArgument = None,
    name: NameOption = None,
    endpoint_name: EndpointOption = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Show a deployment: its kind, model, settings and environment."""
    deployment = pick_name(name_argument, name, "deployment")
    endpoint = pick_name(None, endpoint_name, "endpoint")
    with open_client(workspace) as client:
        found = client.batch_deployments.get(deployment, endpoint)
    emit(found, output, DEPLOYMENT_COLUMNS)
    if output is OutputFormat.table:
        settings = ", ".join(f"{k}={v}" for k, v in sorted(found.settings.items()))
        typer.echo(f"settings: {settings}")
        environment = found.environment or {}
        if environment.get("python"):
            typer.echo(f"python: {environment['python']}")
        if environment.get("ignored"):
            typer.echo(f"ignored conda packages: {', '.join(environment['ignored'])}")
        for note in environment.get("notes") or []:
            typer.echo(f"note: {note}")


@deployment_app.command("update")
def update_deployment(
    file: FileOption = None,
    name: NameOption = None,
    endpoint_name: EndpointOption = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="settings.S=VALUE, description=TEXT; repeat"),
    ] = None,
    set_default: Annotated[
        bool, typer.Option("--set-default", help="make it the endpoint's default deployment")
    ] = False,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Replace a deployment from dep.yml, or change some fields (--set settings.S=VALUE) and
    keep the rest. Jobs already invoked keep the revision they started with."""
    spec, base = _deployment_spec(file, name, endpoint_name)
    if not spec.get("name") or not spec.get("endpoint_name"):
        raise InvalidRequestError(422, "invalid", "give --file, or --name and --endpoint-name")
    changes = deployment_changes(set_ or [])
    with open_client(workspace) as client:
        if file is not None:
            spec = merge(spec, changes)
            updated = client.batch_deployments.create_or_update(
                {**spec, "base_path": base}, set_default=set_default
            )
        elif changes:
            updated = client.batch_deployments.update(
                spec["name"], spec["endpoint_name"], set_default=set_default, **changes
            )
        elif set_default:
            client.batch_endpoints.update(spec["endpoint_name"], default_deployment=spec["name"])
            updated = client.batch_deployments.get(spec["name"], spec["endpoint_name"])
        else:
            raise InvalidRequestError(
                422, "invalid", "nothing to change: give --file, --set or --set-default"
            )
    if output is OutputFormat.json:
        emit(updated, output, DEPLOYMENT_COLUMNS)
    else:
        print_success(
            f"batch deployment {updated.endpoint_name}/{updated.name} is at revision "
            f"{updated.revision}{' (default)' if updated.is_default else ''}"
        )


def deployment_changes(pairs: list[str]) -> dict[str, Any]:
    """``--set`` pairs of ``batch-deployment update``: ``settings.S=V``, ``description=T``."""
    changes: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if sep and key == "description":
            changes["description"] = value
            continue
        if not key.startswith("settings."):
            raise InvalidRequestError(
                422, "invalid", f"--set {pair!r}: use settings.<setting>=VALUE or description=TEXT"
            )
        args = InvokeArgs()
        apply_set(args, [pair])
        changes = merge(changes, {"settings": args.params_override})
    return changes


@deployment_app.command("delete")
def delete_deployment(
    name_argument: NameArgument = None,
    name: NameOption = None,
    endpoint_name: EndpointOption = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Delete a deployment (not the default while others exist: make another the default)."""
    deployment = pick_name(name_argument, name, "deployment")
    endpoint = pick_name(None, endpoint_name, "endpoint")
    with open_client(workspace) as client:
        client.batch_deployments.delete(deployment, endpoint)
    if output is OutputFormat.json:
        print_json({"deleted": deployment, "endpoint_name": endpoint})
    else:
        print_success(f"batch deployment {endpoint}/{deployment} deleted")

"""Batch deployments: how an endpoint scores. Created synchronously: the code is copied from
storage into a folder of the deployment's own, checked, and its environment is built (or taken
from the cache apps use) before the deployment is stored, so a broken one is refused at once.

Three kinds: a ``model`` deployment with a scoring script (``init()``/``run()``), a ``model``
deployment whose code is a model project (``prediction.predict`` per row), and a ``component``
(a function with typed inputs and outputs). Each create or replace makes a new *revision*
folder; jobs pin the revision they were created with, so replacing a deployment never changes
a job that is already queued or running.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wharf.batch.components import parse_component_spec
from wharf.batch.pipelines import parse_pipeline
from wharf.batch.settings import parse_batch_settings
from wharf.build.environments import Environment, ensure_environment
from wharf.errors import Conflict, Invalid, NotFound
from wharf.services import assets, auth, batch_endpoints, job_storage, workspaces
from wharf.services.deployment_code import (
    check_code,
    conda_notes,
    environment_plan,
    environment_python,
    write_environment_folder,
)
from wharf.services.mlflow_models import driver_requirements
from wharf.services.platform import Platform
from wharf.storage.references import AssetReference, parse_reference
from wharf.store.models import BatchDeployment, BatchEndpoint, Workspace
from wharf.store.types import utcnow


@dataclass(frozen=True)
class DeploymentSpec:
    """What a caller gives to create or replace a deployment (the REST body, flattened)."""

    name: str
    type: str = "model"
    endpoint_name: str | None = None
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    code: str | None = None
    scoring_script: str | None = None
    model: str | None = None
    requirements: list[str] | None = None
    conda_file: Mapping[str, Any] | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    instance_count: int | None = None
    entry: str | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    jobs: Mapping[str, Any] | None = None
    """A pipeline's steps (Azure's pipeline component ``jobs:``)."""


@dataclass(frozen=True)
class _Checked:
    """A spec whose references and settings are checked, before anything is copied."""

    spec: DeploymentSpec
    kind: str
    code_reference: str
    model_reference: str | None
    settings: dict[str, Any]
    component: dict[str, Any]
    model_requirements: list[str] | None = None
    """An MLflow model deployment's packages, from the model's own files."""


def deployment_root(platform: Platform, workspace: str, endpoint: str, name: str) -> Path:
    """The folder holding every revision of a deployment."""
    return platform.settings.data_dir / "batch" / "deployments" / workspace / endpoint / name


def check_path_name(path_name: str, body_name: str) -> None:
    """A replace names the deployment in the path and the body: they must agree."""
    if path_name != body_name:
        raise Invalid(
            f"the body names deployment {body_name!r} but the path {path_name!r}", field="name"
        )


def _check_spec(
    session: Session,
    principal: auth.Principal,
    workspace: Workspace,
    endpoint: BatchEndpoint,
    spec: DeploymentSpec,
) -> _Checked:
    batch_endpoints.check_deployment_name(spec.name)
    if spec.endpoint_name is not None and spec.endpoint_name != endpoint.name:
        raise Invalid(
            f"endpoint_name {spec.endpoint_name!r} does not match the endpoint "
            f"{endpoint.name!r} in the path",
            field="endpoint_name",
        )
    if spec.type not in ("model", "component", "pipeline"):
        raise Invalid(
            f"deployment type {spec.type!r} is not model, component or pipeline", field="type"
        )
    if spec.type == "pipeline":
        return _check_pipeline(session, principal, workspace, spec)
    if not spec.code:
        if spec.type == "model" and spec.model and not spec.scoring_script:
            return _check_mlflow(session, principal, workspace, spec)
        raise Invalid(
            "a deployment needs code_configuration.code: a folder reference (the CLI and SDK "
            "upload a local folder), unless its model is an MLflow model",
            field="code_configuration.code",
        )
    component: dict[str, Any] = {}
    if spec.type == "component":
        if spec.scoring_script:
            raise Invalid(
                "a component deployment takes entry: module:function, not a scoring_script",
                field="code_configuration.scoring_script",
            )
        parsed = parse_component_spec(
            {"entry": spec.entry or "", "inputs": spec.inputs, "outputs": spec.outputs}
        )
        component = parsed.model_dump(mode="json", exclude={"entry"})
        kind = "component"
    else:
        if spec.entry or spec.inputs or spec.outputs:
            raise Invalid(
                "entry, inputs and outputs belong to component deployments (type: component)",
                field="type",
            )
        kind = "scoring_script" if spec.scoring_script else "model_project"
    settings = dict(spec.settings)
    if spec.instance_count is not None:
        settings["instance_count"] = spec.instance_count
    checked_settings = parse_batch_settings(settings).model_dump(mode="json")
    code = job_storage.pin_reference(
        session,
        principal,
        workspace,
        spec.code,
        what="code_configuration.code",
        field="code_configuration.code",
    )
    if code.kind == "url":
        raise Invalid(
            "code_configuration.code must be a folder in a datastore (the CLI and SDK upload a "
            "local folder there), not a URL",
            field="code_configuration.code",
        )
    model = _pin_model(session, principal, workspace, spec.model) if spec.model else None
    return _Checked(spec, kind, code.reference, model, checked_settings, component)


def _check_mlflow(
    session: Session, principal: auth.Principal, workspace: Workspace, spec: DeploymentSpec
) -> _Checked:
    """A model deployment without code: its model must be an MLflow model, which Wharf's
    driver scores (as Azure ML does), in an environment from the model's own files."""
    if spec.entry or spec.inputs or spec.outputs:
        raise Invalid(
            "entry, inputs and outputs belong to component deployments (type: component)",
            field="type",
        )
    assert spec.model is not None
    model = _pin_model(session, principal, workspace, spec.model)
    reference = parse_reference(model, azureml_kind="model")
    assert isinstance(reference, AssetReference)
    version = assets.read_asset_version(
        session, workspace, "model", reference.name, version=reference.version
    )
    mlflow = (version.properties or {}).get("mlflow")
    if version.flavor != "mlflow" or not isinstance(mlflow, dict):
        raise Invalid(
            f"model {spec.model!r} is not an MLflow model, so the deployment needs "
            "code_configuration (a scoring script); register an MLflow model with "
            "'wharf model create --type mlflow_model --path DIR'",
            field="code_configuration.code",
        )
    if spec.requirements is not None or spec.conda_file is not None:
        requirements = None  # the deployment's own environment wins over the model's files
    else:
        requirements = driver_requirements(list(mlflow.get("requirements") or []))
    settings = dict(spec.settings)
    if spec.instance_count is not None:
        settings["instance_count"] = spec.instance_count
    checked_settings = parse_batch_settings(settings).model_dump(mode="json")
    return _Checked(spec, "mlflow_model", "", model, checked_settings, {}, requirements)


def _check_pipeline(
    session: Session, principal: auth.Principal, workspace: Workspace, spec: DeploymentSpec
) -> _Checked:
    """A pipeline: its steps wired and ordered, each step's code pinned."""
    if spec.code or spec.scoring_script or spec.model:
        raise Invalid(
            "a pipeline deployment takes component: with jobs:; each step has its own code",
            field="code_configuration",
        )
    raw = {"inputs": dict(spec.inputs), "outputs": dict(spec.outputs), "jobs": spec.jobs or {}}
    pipeline = parse_pipeline(raw)
    jobs: dict[str, Any] = {}
    for step in pipeline.steps:
        body = dict(raw["jobs"][step.name])
        inline = body.pop("component", None)
        if isinstance(inline, Mapping):
            body = {**inline, **body}
        if step.code is None:
            raise Invalid(f"step {step.name!r} needs code", field=f"component.jobs.{step.name}")
        body["code"] = job_storage.pin_reference(
            session,
            principal,
            workspace,
            step.code,
            what=f"step {step.name!r} code",
            field=f"component.jobs.{step.name}.code",
        ).reference
        jobs[step.name] = body
    component = {
        "inputs": {k: v.model_dump(mode="json") for k, v in pipeline.inputs.items()},
        "outputs": {k: v.model_dump(mode="json") for k, v in pipeline.outputs.items()},
        "jobs": jobs,
        "order": [step.name for step in pipeline.steps],
    }
    given = dict(spec.settings)
    given.pop("default_compute", None)  # Azure's compute cluster: steps run on this server
    if given.pop("continue_on_step_failure", False):
        raise Invalid(
            "continue_on_step_failure is not supported: a failed step fails the job",
            field="settings.continue_on_step_failure",
        )
    settings = parse_batch_settings(given).model_dump(mode="json")
    return _Checked(spec, "pipeline", "", None, settings, component)


def materialise_steps(
    platform: Platform, workspace: str, folder: Path, component: Mapping[str, Any]
) -> Environment:
    """Copy each step's code and build its environment (``folder/steps/<step>``); returns the
    first step's environment, which the deployment shows."""
    first: Environment | None = None
    for name in component["order"]:
        body = component["jobs"][name]
        step_folder = folder / "steps" / name
        with platform.transaction() as session:
            ws = workspaces.read_workspace(session, workspace)
            location = job_storage.locate(
                session, platform, ws, body["code"], what=f"step {name!r} code"
            )
        if job_storage.path_kind(location) != "uri_folder":
            raise Invalid(
                f"step {name!r} code {body['code']!r} is not a folder",
                field=f"component.jobs.{name}.code",
            )
        code_dir = job_storage.copy_to_local(location, step_folder / "code")
        environment = (
            body.get("environment") if isinstance(body.get("environment"), Mapping) else {}
        )
        source = write_environment_folder(
            step_folder / "environment",
            "scoring_script",
            code_dir,
            environment.get("requirements"),
            environment.get("conda_file"),
        )
        built = ensure_environment(
            environment_plan(step_folder, source),
            platform.settings.envs_dir,
            python=environment_python(step_folder),
        )
        first = first or built
    assert first is not None
    return first


def _pin_model(session: Session, principal: auth.Principal, workspace: Workspace, text: str) -> str:
    model = job_storage.pin_reference(
        session, principal, workspace, text, what="model", field="model", azureml_kind="model"
    ).reference
    if not model.startswith("model:"):
        raise Invalid(
            f"model {text!r} is not a model reference: register the folder with "
            "'wharf model create' and give model:<name>@latest",
            field="model",
        )
    return model


def _materialise(
    platform: Platform, workspace: str, endpoint: str, checked: _Checked
) -> tuple[Path, str, Environment]:
    """Copy the code into a new revision folder, check it, build the environment. Returns
    the folder, where the environment's packages came from, and the environment."""
    spec = checked.spec
    root = deployment_root(platform, workspace, endpoint, spec.name)
    folder = root / f"rev-{secrets.token_hex(6)}"
    try:
        if checked.kind == "pipeline":
            environment = materialise_steps(platform, workspace, folder, checked.component)
            return folder, "pipeline", environment
        if checked.kind == "mlflow_model":
            (folder / "code").mkdir(parents=True)
            source = write_environment_folder(
                folder / "environment",
                checked.kind,
                folder / "code",
                checked.model_requirements
                if checked.model_requirements is not None
                else spec.requirements,
                None if checked.model_requirements is not None else spec.conda_file,
            )
            source = "model" if checked.model_requirements is not None else source
            plan = environment_plan(folder, source)
            environment = ensure_environment(
                plan, platform.settings.envs_dir, python=environment_python(folder)
            )
            return folder, source, environment
        with platform.transaction() as session:
            ws = workspaces.read_workspace(session, workspace)
            location = job_storage.locate(
                session, platform, ws, checked.code_reference, what="code_configuration.code"
            )
        found = job_storage.path_kind(location)
        if found != "uri_folder":
            problem = "does not exist" if found is None else "is a file, not a folder"
            raise Invalid(
                f"code_configuration.code {checked.code_reference!r} {problem}",
                field="code_configuration.code",
            )
        code_dir = job_storage.copy_to_local(location, folder / "code")
        check_code(code_dir, checked.kind, spec.scoring_script, spec.entry)
        source = write_environment_folder(
            folder / "environment", checked.kind, code_dir, spec.requirements, spec.conda_file
        )
        plan = environment_plan(folder, source)
        environment = ensure_environment(
            plan,
            platform.settings.envs_dir,
            python=environment_python(folder),
            installer=platform.installer(),
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder, source, environment


def save_deployment(
    platform: Platform,
    principal: auth.Principal,
    workspace_name: str,
    endpoint_name: str,
    spec: DeploymentSpec,
    *,
    replace: bool,
    set_default: bool = False,
) -> tuple[BatchDeployment, bool]:
    """Create (or, with ``replace``, create or replace) a deployment; returns it and whether it
    was created. Nothing is stored unless its code checks out and its environment is ready."""
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, workspace_name)
        endpoint = batch_endpoints.read_endpoint(session, workspace, endpoint_name)
        checked = _check_spec(session, principal, workspace, endpoint, spec)
        existing = _find(session, endpoint, spec.name)
        if existing is not None and not replace:
            raise Conflict(
                f"batch endpoint {endpoint_name!r} already has a deployment {spec.name!r}; "
                "update it instead"
            )
    folder, source, environment = _materialise(platform, workspace_name, endpoint_name, checked)
    try:
        with platform.transaction() as session:
            workspace = workspaces.read_workspace(session, workspace_name)
            endpoint = batch_endpoints.read_endpoint(session, workspace, endpoint_name)
            deployment = _find(session, endpoint, spec.name)
            created = deployment is None
            if deployment is None:
                deployment = BatchDeployment(
                    endpoint_id=endpoint.id, name=spec.name, created_by=principal.user_name
                )
                session.add(deployment)
            elif not replace:
                raise Conflict(f"batch endpoint {endpoint_name!r} already has {spec.name!r}")
            else:
                deployment.revision += 1
                deployment.updated_at = utcnow()
            deployment.type = spec.type
            deployment.kind = checked.kind
            deployment.description = spec.description
            deployment.tags = dict(spec.tags)
            deployment.code_reference = checked.code_reference
            deployment.scoring_script = spec.scoring_script
            deployment.entry = spec.entry if checked.kind == "component" else None
            deployment.component = checked.component
            deployment.model_reference = checked.model_reference
            deployment.requirements = _read_requirements(folder, source)
            deployment.environment_source = source
            deployment.environment_key = environment.key
            deployment.environment_reused = environment.reused
            deployment.environment_notes = (
                conda_notes(spec.conda_file) if spec.conda_file is not None else {}
            )
            deployment.settings = checked.settings
            deployment.folder = str(folder)
            session.flush()
            if endpoint.default_deployment is None or set_default:
                endpoint.default_deployment = spec.name
                endpoint.updated_at = utcnow()
            session.flush()
            return deployment, created
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _read_requirements(folder: Path, source: str) -> list[str]:
    file = (
        folder / "code" / "requirements.txt"
        if source == "project"
        else folder / "environment" / "requirements.txt"
    )
    if not file.is_file():
        return []
    lines = (line.strip() for line in file.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _find(session: Session, endpoint: BatchEndpoint, name: str) -> BatchDeployment | None:
    return session.scalar(
        select(BatchDeployment).where(
            BatchDeployment.endpoint_id == endpoint.id, BatchDeployment.name == name
        )
    )


def read_deployment(session: Session, endpoint: BatchEndpoint, name: str) -> BatchDeployment:
    deployment = _find(session, endpoint, name)
    if deployment is None:
        raise NotFound(f"batch endpoint {endpoint.name!r} has no deployment {name!r}")
    return deployment


def list_deployments(session: Session, endpoint: BatchEndpoint) -> list[BatchDeployment]:
    return list(
        session.scalars(
            select(BatchDeployment)
            .where(BatchDeployment.endpoint_id == endpoint.id)
            .order_by(BatchDeployment.name)
        )
    )


def delete_deployment(
    session: Session, workspace: Workspace, endpoint: BatchEndpoint, name: str
) -> Path:
    """Delete a deployment with no unfinished jobs; the default one only when it is the last.
    Returns its folder, to remove after the commit."""
    deployment = read_deployment(session, endpoint, name)
    running = batch_endpoints.active_job_names(session, workspace, endpoint.name, name)
    if running:
        raise Conflict(
            f"deployment {name!r} has jobs that have not ended ({', '.join(running)}); cancel "
            "them or wait, then delete it"
        )
    others = [d for d in batch_endpoints.deployment_names(session, endpoint) if d != name]
    if endpoint.default_deployment == name:
        if others:
            raise Conflict(
                f"deployment {name!r} is the default of batch endpoint {endpoint.name!r}: make "
                f"another one the default first (PATCH the endpoint's default_deployment, e.g. "
                f"'wharf batch-endpoint update {endpoint.name} --default-deployment "
                f"{others[0]}'), then delete it"
            )
        endpoint.default_deployment = None
    session.delete(deployment)
    session.flush()
    return Path(deployment.folder).parent

"""Batch endpoints and their deployments: ``client.batch_endpoints``, ``client.batch_deployments``.

Shaped like Azure ML SDK v2: ``BatchEndpoint(name="heart")``, ``BatchDeployment(name="d1",
endpoint_name="heart", code_configuration={"code": "./src", "scoring_script": "score.py"},
...)``, ``client.batch_endpoints.invoke(endpoint_name="heart", inputs={...})``.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from wharf.schemas.batch import Job
from wharf.sdk._batch_specs import (
    Input,
    Output,
    code_files,
    invalid,
    prepare_deployment,
    resolve_local,
    to_input,
    to_output,
    upload_input,
)
from wharf.sdk._entities import Model
from wharf.sdk._errors import ConflictError
from wharf.sdk._storage import Progress, is_local_path

if TYPE_CHECKING:
    from wharf.sdk._client import Client

SINGLE_INPUT = "input"
"""The name ``invoke(input=...)`` and ``--input`` give a model deployment's one data input."""


class BatchEndpoint(BaseModel):
    """A batch endpoint: a stable name that jobs are invoked against. ``invoke_url`` is where
    to POST a job; ``default_deployment`` runs jobs that name no deployment."""

    model_config = ConfigDict(extra="allow")

    name: str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    default_deployment: str | None = None
    deployments: list[str] = Field(default_factory=list)
    invoke_url: str | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class BatchDeployment(BaseModel):
    """A batch deployment, with the fields of Azure ML's batch deployment YAML.

    ``type`` is ``model`` (``code_configuration`` with a ``scoring_script``, or without one: the
    code folder is a model project whose ``predict`` is called per row) or ``component``
    (``entry: module:function``, ``inputs``, ``outputs``). Local paths (the code folder, a
    requirements file, a conda file, a component file) are relative to ``base_path`` (default:
    the working directory); ``client.batch_deployments`` uploads or reads them. ``model`` is a
    reference (``model:heart@latest``, ``azureml:heart:1``), never a local folder.

    What the server returns fills the other fields: ``kind`` (``scoring_script``,
    ``model_project`` or ``component``), ``code`` (the uploaded code's reference), ``model``
    (pinned to a version), ``settings`` with every default, ``is_default``, ``revision``.
    """

    model_config = ConfigDict(extra="allow")

    name: str
    endpoint_name: str
    type: str = "model"
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    code_configuration: dict[str, Any] | None = None
    model: str | dict[str, Any] | None = None
    environment: dict[str, Any] | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    resources: dict[str, Any] | None = None
    entry: str | None = None
    inputs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    component: dict[str, Any] | str | None = None
    base_path: str | None = Field(default=None, exclude=True)
    # Filled in by the server:
    kind: str | None = None
    code: str | None = None
    scoring_script: str | None = None
    is_default: bool | None = None
    revision: int | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


_SERVER_FIELDS = (
    "kind",
    "code",
    "scoring_script",
    "is_default",
    "revision",
    "provisioning_state",
    "created_by",
    "created_at",
    "updated_at",
    "base_path",
)


def deployment_spec(deployment: BatchDeployment) -> dict[str, Any]:
    """The create body of a deployment the server returned (to change a few fields and PUT)."""
    environment = deployment.environment or {}
    requirements = environment.get("requirements") or None
    spec: dict[str, Any] = {
        "name": deployment.name,
        "endpoint_name": deployment.endpoint_name,
        "type": deployment.type,
        "description": deployment.description,
        "tags": deployment.tags,
        "code_configuration": {
            "code": deployment.code,
            "scoring_script": deployment.scoring_script,
        },
        "model": deployment.model,
        "environment": {"requirements": requirements} if requirements else None,
        "settings": deployment.settings,
        "resources": deployment.resources,
    }
    if deployment.type == "component":
        spec.update(entry=deployment.entry, inputs=deployment.inputs, outputs=deployment.outputs)
    return spec


def merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied; mappings merge key by key."""
    merged = dict(base)
    for key, value in changes.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = merge(current, value)
        else:
            merged[key] = value
    return merged


class BatchEndpointOperations:
    """``client.batch_endpoints``: create, list, get, update, delete, and invoke (a job)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _path(self, suffix: str = "") -> str:
        return self._client.workspace_path(f"/batch-endpoints{suffix}")

    def create_or_update(self, endpoint: BatchEndpoint | Mapping[str, Any]) -> BatchEndpoint:
        """Create an endpoint, or update the description and tags of an existing one."""
        if isinstance(endpoint, Mapping):
            endpoint = BatchEndpoint.model_validate(
                {k: v for k, v in endpoint.items() if k not in ("$schema", "auth_mode")}
            )
        body = {"name": endpoint.name, "description": endpoint.description, "tags": endpoint.tags}
        try:
            created = self._client._request("POST", self._path(), json=body)
        except ConflictError:
            return self.update(endpoint.name, description=endpoint.description, tags=endpoint.tags)
        return BatchEndpoint.model_validate(created)

    def update(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        default_deployment: str | None = None,
    ) -> BatchEndpoint:
        """Change the description, the tags or the default deployment."""
        given = {
            "description": description,
            "tags": dict(tags) if tags is not None else None,
            "default_deployment": default_deployment,
        }
        body = {k: v for k, v in given.items() if v is not None}
        updated = self._client._request("PATCH", self._path(f"/{quote(name)}"), json=body)
        return BatchEndpoint.model_validate(updated)

    def get(self, name: str) -> BatchEndpoint:
        found = self._client._request("GET", self._path(f"/{quote(name)}"))
        return BatchEndpoint.model_validate(found)

    def list(self) -> builtins.list[BatchEndpoint]:
        return [BatchEndpoint.model_validate(e) for e in self._client._request("GET", self._path())]

    def delete(self, name: str) -> None:
        """Delete an endpoint and its deployments (its jobs are kept)."""
        self._client._request("DELETE", self._path(f"/{quote(name)}"))

    def invoke(
        self,
        endpoint_name: str,
        *,
        deployment_name: str | None = None,
        inputs: Mapping[str, Input | Any] | None = None,
        input: Input | str | None = None,
        outputs: Mapping[str, Output | str | Mapping[str, Any]] | None = None,
        output_path: str | None = None,
        experiment_name: str | None = None,
        job_name: str | None = None,
        params_override: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        progress: Progress | None = None,
    ) -> Job:
        """Start a job on the endpoint's default deployment (or ``deployment_name``); returns
        it Queued, at once.

        ``inputs`` maps input names to ``Input`` objects or plain literal values. ``input`` is
        the single data input of a ``model`` deployment (a reference, a local path or an
        ``Input``), sent as the input named ``input``. Local paths are uploaded to the default
        datastore first. ``outputs`` (or ``output_path``, for the ``score`` output) says where
        outputs go. ``params_override`` overrides deployment settings for this job
        (``{"mini_batch_size": 20, "error_threshold": 0}``). ``idempotency_key`` makes a
        retried call return the job the first call created.
        """
        body = self.invoke_body(
            deployment_name=deployment_name,
            inputs=inputs,
            input=input,
            outputs=outputs,
            output_path=output_path,
            experiment_name=experiment_name,
            job_name=job_name,
            params_override=params_override,
            progress=progress,
        )
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        created = self._client._request(
            "POST", self._path(f"/{quote(endpoint_name)}/jobs"), json=body, headers=headers
        )
        return Job.model_validate(created)

    def invoke_body(
        self,
        *,
        deployment_name: str | None = None,
        inputs: Mapping[str, Input | Any] | None = None,
        input: Input | str | None = None,
        outputs: Mapping[str, Output | str | Mapping[str, Any]] | None = None,
        output_path: str | None = None,
        experiment_name: str | None = None,
        job_name: str | None = None,
        params_override: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """The native REST body of an invoke, with local paths uploaded."""

        def upload(path: str) -> str:
            return self._client.datastores.upload(path, progress=progress)

        given = dict(inputs or {})
        if input is not None:
            given[SINGLE_INPUT] = Input(path=input) if isinstance(input, str) else input
        wire_inputs = {
            name: upload_input(to_input(name, value), upload).to_wire()
            for name, value in given.items()
        }
        wanted = dict(outputs or {})
        if output_path is not None:
            wanted["score"] = output_path
        body: dict[str, Any] = {"inputs": wire_inputs}
        if wanted:
            body["outputs"] = {
                name: to_output(name, value).to_wire() for name, value in wanted.items()
            }
        optional = {
            "deployment": deployment_name,
            "experiment_name": experiment_name,
            "job_name": job_name,
            "params_override": dict(params_override) if params_override else None,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body


class BatchDeploymentOperations:
    """``client.batch_deployments``: how an endpoint scores.

    Creating or replacing a deployment builds its Python environment before the call returns
    (from a cache when the requirements were seen before), so these calls have no timeout.
    """

    def __init__(self, client: Client) -> None:
        self._client = client

    def _path(self, endpoint: str, suffix: str = "") -> str:
        return self._client.workspace_path(
            f"/batch-endpoints/{quote(endpoint)}/deployments{suffix}"
        )

    def _body(self, deployment: BatchDeployment | Mapping[str, Any]) -> dict[str, Any]:
        if isinstance(deployment, BatchDeployment):
            base = deployment.base_path
            spec = deployment.model_dump(exclude_none=True, exclude=set(_SERVER_FIELDS))
            spec = {k: v for k, v in spec.items() if v not in ({}, [])}
        else:
            base = deployment.get("base_path")
            spec = {k: v for k, v in deployment.items() if k not in _SERVER_FIELDS}
        folder = Path(str(base or os.getcwd()))
        return prepare_deployment(
            self._register_inline_model(spec, folder), folder, self._upload_code
        )

    def _register_inline_model(self, spec: dict[str, Any], base: Path) -> dict[str, Any]:
        """An inline ``model: {name, path}`` (Azure's YAML) is registered as a model version
        first, as Azure does, and the deployment names that version."""
        model = spec.get("model")
        if not isinstance(model, Mapping):
            return spec
        fields = {k: v for k, v in model.items() if k != "$schema"}
        if not fields.get("name") or not fields.get("path"):
            raise invalid("an inline model: needs a name and a path (or write model:<name>@latest)")
        path = str(fields["path"])
        if is_local_path(path):
            fields["path"] = str(resolve_local(path, base))
        if fields.get("version") is not None:
            fields["version"] = str(fields["version"])
        created = self._client.models.create_or_update(Model.model_validate(fields))
        return {**spec, "model": created.reference or f"model:{created.name}:{created.version}"}

    def _upload_code(self, folder: Path, target: str) -> str:
        store = self._client.datastores.get_default().name
        for file in code_files(folder):
            relative = file.relative_to(folder).as_posix()
            self._client.datastores.upload(
                file, datastore=store, target_path=f"{target}/{relative}"
            )
        return f"wharf://datastores/{store}/paths/{target}/"

    def _send(
        self, method: str, body: dict[str, Any], set_default: bool, suffix: str = ""
    ) -> BatchDeployment:
        params = {"set_default": True} if set_default else None
        result = self._client._request(
            method,
            self._path(body["endpoint_name"], suffix),
            json=body,
            params=params,
            timeout=None,
        )
        return BatchDeployment.model_validate(result)

    def create(
        self, deployment: BatchDeployment | Mapping[str, Any], *, set_default: bool = False
    ) -> BatchDeployment:
        """Create a deployment (a ConflictError if the name is taken); local code is uploaded
        first. ``set_default`` makes it the endpoint's default (the first one always is)."""
        return self._send("POST", self._body(deployment), set_default)

    def create_or_update(
        self, deployment: BatchDeployment | Mapping[str, Any], *, set_default: bool = False
    ) -> BatchDeployment:
        """Create a deployment, or replace the one of that name (jobs already invoked keep the
        revision they started with)."""
        body = self._body(deployment)
        return self._send("PUT", body, set_default, f"/{quote(body['name'])}")

    def update(
        self,
        name: str,
        endpoint_name: str,
        *,
        set_default: bool = False,
        base_path: str | None = None,
        **changes: Any,
    ) -> BatchDeployment:
        """Change some fields of a deployment and replace it: ``settings={"mini_batch_size":
        5}`` changes one setting and keeps the others."""
        current = deployment_spec(self.get(name, endpoint_name))
        spec = merge(current, changes)
        spec.update(name=name, endpoint_name=endpoint_name)
        folder = Path(base_path or os.getcwd())
        body = prepare_deployment(
            self._register_inline_model({k: v for k, v in spec.items() if v is not None}, folder),
            folder,
            self._upload_code,
        )
        return self._send("PUT", body, set_default, f"/{quote(name)}")

    def get(self, name: str, endpoint_name: str) -> BatchDeployment:
        result = self._client._request("GET", self._path(endpoint_name, f"/{quote(name)}"))
        return BatchDeployment.model_validate(result)

    def list(self, endpoint_name: str) -> builtins.list[BatchDeployment]:
        found = self._client._request("GET", self._path(endpoint_name))
        return [BatchDeployment.model_validate(d) for d in found]

    def delete(self, name: str, endpoint_name: str) -> None:
        self._client._request("DELETE", self._path(endpoint_name, f"/{quote(name)}"))

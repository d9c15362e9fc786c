"""Wire shapes of batch endpoints, deployments and jobs.

Deployment bodies follow Azure ML's batch deployment YAML where it applies (``code_configuration``,
``environment``, ``settings``, ``resources``), so existing files move over. Invoke takes Wharf's
native body or Azure's ``properties.InputData`` / ``OutputData`` body; both create the same job.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from wharf.schemas.common import RequestModel, ResponseModel
from wharf.schemas.text import Description, Name, Tags
from wharf.states import JobStatus

DeploymentType = Literal["model", "component", "pipeline"]
DeploymentKind = Literal["scoring_script", "model_project", "component", "mlflow_model", "pipeline"]
DataType = Literal["uri_file", "uri_folder"]
ComponentInputType = Literal["uri_file", "uri_folder", "string", "boolean", "number", "integer"]
Scalar = str | bool | int | float


# --- endpoints ---------------------------------------------------------------------------------


class BatchEndpointCreate(RequestModel):
    name: Name = Field(description="3-32 letters, digits and dashes, a letter first")
    description: Description = ""
    tags: Tags = Field(default_factory=dict)


class BatchEndpointUpdate(RequestModel):
    description: Description | None = None
    tags: Tags | None = None
    default_deployment: str | None = Field(
        default=None, description="make this deployment of the endpoint its default"
    )


class BatchEndpoint(ResponseModel):
    name: str
    description: str
    tags: dict[str, str]
    default_deployment: str | None = Field(description="None until the first deployment")
    deployments: list[str]
    invoke_url: str = Field(description="POST here to create a job")
    created_by: str | None = None
    created_at: datetime
    updated_at: datetime


# --- deployments -------------------------------------------------------------------------------


def _version_text(value: Any) -> Any:
    """Azure's examples write ``version: 1``; a number is read as its text."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


VersionText = Annotated[Name | None, BeforeValidator(_version_text)]


class CodeConfiguration(RequestModel):
    code: str = Field(
        description="a folder reference (wharf://datastores/<ds>/paths/<p>/, data:...); the "
        "CLI and SDK upload a local folder to the default datastore first"
    )
    scoring_script: str | None = Field(
        default=None,
        description="model deployments: the init()/run() script in the code folder; "
        "None: the code folder is a model project (prediction.py with predict)",
    )


class EnvironmentSpec(RequestModel):
    requirements: list[str] | None = Field(
        default=None, description="requirement strings (pip syntax), one per item"
    )
    conda_file: dict[str, Any] | None = Field(
        default=None, description="a parsed conda environment file: its pip dependencies are used"
    )
    name: str | None = Field(default=None, description="accepted for Azure YAML; not used")
    version: VersionText = Field(default=None, description="accepted for Azure YAML; not used")
    image: str | None = Field(default=None, description="accepted for Azure YAML; not used")
    description: Description | None = None


class Resources(RequestModel):
    instance_count: int = Field(default=1, ge=1)


class ComponentInputSpec(RequestModel):
    type: ComponentInputType
    optional: bool = False
    default: Any = None
    description: Description | None = None


class ComponentOutputSpec(RequestModel):
    type: DataType = "uri_folder"
    description: Description | None = None


class ComponentBody(RequestModel):
    """An inline component (Azure's component YAML, with ``entry`` instead of ``command``)."""

    name: Name | None = None
    version: VersionText = Field(default=None, description="a number (1) or text")
    display_name: Name | None = None
    description: Description | None = None
    type: str | None = Field(default=None, description="accepted for Azure YAML; not used")
    code: str | None = None
    entry: str | None = None
    environment: EnvironmentSpec | None = None
    inputs: dict[str, ComponentInputSpec] = Field(default_factory=dict)
    outputs: dict[str, ComponentOutputSpec] = Field(default_factory=dict)
    jobs: dict[str, Any] | None = Field(
        default=None,
        description="pipeline: command steps (command, code, environment, inputs, outputs)",
    )
    settings: dict[str, Any] | None = Field(
        default=None, description="accepted for Azure YAML; not used"
    )


class BatchDeploymentCreate(RequestModel):
    """Create (POST) or replace (PUT) a deployment."""

    name: Name = Field(description="1-32 letters, digits and dashes, a letter first")
    endpoint_name: Name | None = Field(default=None, description="must match the path if given")
    type: DeploymentType = "model"
    description: Description = ""
    tags: Tags = Field(default_factory=dict)
    code_configuration: CodeConfiguration | None = None
    model: str | None = Field(
        default=None,
        description="model:<name>@latest, model:<name>:<v>, azureml:<name>:<v>; pinned to a "
        "version on create; its files are at WHARF_MODEL_DIR",
    )
    environment: EnvironmentSpec | None = None
    settings: dict[str, Any] = Field(
        default_factory=dict, description="batch settings (see docs/batch-engine.md)"
    )
    resources: Resources | None = None
    compute: str | None = Field(default=None, description="accepted for Azure YAML; not used")
    entry: str | None = Field(default=None, description="component: module:function")
    inputs: dict[str, ComponentInputSpec] = Field(default_factory=dict)
    outputs: dict[str, ComponentOutputSpec] = Field(default_factory=dict)
    component: ComponentBody | None = Field(
        default=None, description="component: inline spec; top-level fields take precedence"
    )


class DeploymentEnvironment(ResponseModel):
    requirements: list[str]
    source: str = Field(
        description="requirements, conda_file, project, model (an MLflow model's files) or none"
    )
    key: str = Field(description="the environment cache key")
    reused: bool = Field(description="whether the environment came from the cache")
    python: str | None = Field(
        default=None, description="the interpreter a conda file's python=3.X picked"
    )
    ignored: list[str] = Field(
        default_factory=list, description="conda packages not installed (Wharf uses pip/uv)"
    )
    notes: list[str] = Field(default_factory=list, description="why something was not honoured")


class BatchDeployment(ResponseModel):
    name: str
    endpoint_name: str
    type: DeploymentType
    kind: DeploymentKind
    description: str
    tags: dict[str, str]
    code: str = Field(description="the code reference it was created from")
    scoring_script: str | None = None
    entry: str | None = None
    inputs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    model: str | None = Field(default=None, description="the pinned model version")
    steps: list[str] = Field(default_factory=list, description="pipeline: steps in run order")
    environment: DeploymentEnvironment
    settings: dict[str, Any] = Field(description="every setting, defaults filled in")
    resources: dict[str, Any]
    is_default: bool
    provisioning_state: str = Field(description="Succeeded: created synchronously")
    revision: int = Field(description="counts replacements (PUT); jobs pin the revision")
    created_by: str | None = None
    created_at: datetime
    updated_at: datetime


# --- invoke ------------------------------------------------------------------------------------


class JobInput(RequestModel):
    type: str | None = Field(
        default=None,
        description="uri_folder, uri_file, or for literals string, integer, number, boolean "
        "(literal is accepted too); default: what the path is, or the declared type",
    )
    path: str | None = Field(default=None, description="a data reference; not for literals")
    value: Any = Field(default=None, description="a literal's value")
    mode: str | None = Field(default=None, description="accepted for Azure; not used")


class JobOutput(RequestModel):
    type: DataType | None = Field(
        default=None, description="default: uri_file when path ends with a file name"
    )
    path: str | None = Field(
        default=None,
        description="a wharf:// datastore path; default wharf://datastores/default/paths/"
        "batch-jobs/<job>/<output>/",
    )
    mode: str | None = Field(default=None, description="accepted for Azure; not used")


def _canonical_keys(data: Any, names: tuple[str, ...]) -> Any:
    """Azure spells these keys in PascalCase or camelCase depending on the API version."""
    if not isinstance(data, dict):
        return data
    by_lower = {name.lower(): name for name in names}
    return {by_lower.get(str(key).lower(), key): value for key, value in data.items()}


class AzureJobInput(RequestModel):
    JobInputType: str = Field(description="UriFolder, UriFile or Literal")
    Uri: str | None = None
    Value: Any = None
    Mode: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data: Any) -> Any:
        return _canonical_keys(data, ("JobInputType", "Uri", "Value", "Mode"))


class AzureJobOutput(RequestModel):
    JobOutputType: str = Field(default="UriFolder", description="UriFile or UriFolder")
    Uri: str | None = None
    Mode: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data: Any) -> Any:
        return _canonical_keys(data, ("JobOutputType", "Uri", "Mode"))


class AzureInvokeProperties(RequestModel):
    InputData: dict[str, AzureJobInput] = Field(default_factory=dict)
    OutputData: dict[str, AzureJobOutput] = Field(default_factory=dict)
    properties: dict[str, Any] = Field(
        default_factory=dict, description="experimentName, jobName (optional)"
    )

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data: Any) -> Any:
        return _canonical_keys(data, ("InputData", "OutputData", "properties"))


class JobInvoke(RequestModel):
    """The native body, or (only) ``properties`` for Azure's. An empty body is a valid invoke
    of a deployment that needs no inputs."""

    deployment: str | None = Field(
        default=None, description="default: the header wharf-deployment, else the default one"
    )
    inputs: dict[str, JobInput | Scalar] = Field(
        default_factory=dict, description="a plain value is a literal"
    )
    outputs: dict[str, JobOutput | str] = Field(
        default_factory=dict, description="a plain string is a path"
    )
    experiment_name: Name | None = Field(default=None, description="default: the endpoint name")
    job_name: Name | None = Field(default=None, description="unique in the workspace")
    params_override: dict[str, Any] | list[dict[str, Any]] = Field(
        default_factory=dict,
        description="settings for this job: mini_batch_size, instance_count, error_threshold, "
        "retry_settings.timeout, output_file_name... (dotted keys allowed)",
    )
    properties: AzureInvokeProperties | None = Field(
        default=None, description="Azure's body: give this alone"
    )


# --- jobs --------------------------------------------------------------------------------------


class JobProgress(ResponseModel):
    mini_batches_total: int = 0
    mini_batches_done: int = 0
    mini_batches_failed: int = 0
    mini_batches_running: int = 0
    retries: int = Field(default=0, description="failed attempts that were tried again")
    items_total: int = Field(default=0, description="files, or rows when split by rows")
    items_done: int = 0
    items_failed: int = 0
    rows_written: int = 0


class JobFailure(ResponseModel):
    mini_batch: int = Field(description="1-based, in input order")
    label: str = Field(description="the mini-batch's items, shortened")
    items: list[str]
    kind: str = Field(description="error, timeout or worker-died")
    call: str
    exception: str
    message: str
    where: str | None = None
    traceback: str
    root_cause: str = Field(description="one line: run() raised KeyError: 'age' on x.csv")


class JobRootCause(ResponseModel):
    message: str = Field(description="the job's error, in one line")
    traceback: str | None = Field(default=None, description="the traceback behind it, if kept")
    source: str = Field(description="where the traceback came from: mini-batch N or the job log")


class OutputPreview(ResponseModel):
    reference: str = Field(description="the file previewed")
    format: str | None = Field(description="csv, jsonl or parquet; None when not previewable")
    columns: list[str]
    rows: list[list[str]] = Field(description="the first rows, each value as text")
    truncated: bool = Field(description="the file holds more than these rows")
    unavailable: str | None = Field(default=None, description="why there is no preview")


class JobInputOut(ResponseModel):
    type: str
    path: str | None = Field(default=None, description="as given")
    reference: str | None = Field(default=None, description="resolved and pinned (data:x:3)")
    value: Any = None


class JobOutputOut(ResponseModel):
    type: DataType
    path: str = Field(description="the output's wharf:// reference (a file for uri_file)")


class Job(ResponseModel):
    name: str
    endpoint: str
    deployment: str
    kind: DeploymentKind
    status: JobStatus
    experiment_name: str
    created_by: str | None = None
    inputs: dict[str, JobInputOut]
    outputs: dict[str, JobOutputOut]
    settings: dict[str, Any] = Field(description="the effective settings (overrides applied)")
    progress: JobProgress
    steps: list[dict[str, Any]] = Field(
        default_factory=list,
        description="pipeline jobs: each step's name, status, times, error and log file",
    )
    error: str | None = Field(default=None, description="the first root cause, in one line")
    failures: list[JobFailure] = Field(
        default_factory=list, description="mini-batches that failed for good (detail view only)"
    )
    root_cause: JobRootCause | None = Field(
        default=None,
        description="a Failed job: its error and the traceback behind it (detail view only)",
    )
    cancel_requested: bool = False
    resumed: int = Field(default=0, description="times the job resumed after a server restart")
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    first_mini_batch_at: datetime | None = Field(
        default=None, description="when the first mini-batch was handed to a worker"
    )
    first_run_at: datetime | None = Field(
        default=None, description="when the first run()/predict() call started (after init())"
    )
    duration_seconds: float | None = None
    log_url: str

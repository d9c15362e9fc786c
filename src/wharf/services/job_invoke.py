"""Invoking a batch endpoint: check everything a job will need, under the caller's identity,
then queue it. Every problem is a 4xx that names the input or output it is about; nothing is
stored unless the job can start.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wharf.batch.components import ComponentInput, coerce_input
from wharf.batch.settings import OUTPUT_FORMATS, BatchSettings, override_batch_settings
from wharf.errors import Conflict, Invalid, NotFound
from wharf.services import (
    asset_files,
    auth,
    batch_deployments,
    batch_endpoints,
    job_storage,
)
from wharf.services.naming import check_name_text
from wharf.services.platform import Platform
from wharf.states import JobStatus
from wharf.storage.network import check_url
from wharf.storage.references import (
    DatastorePathReference,
    describe_reference,
    looks_like_reference,
    parse_reference,
)
from wharf.store.models import BatchDeployment, BatchEndpoint, Job, Workspace
from wharf.store.types import utcnow

LITERAL_TYPES = ("string", "integer", "number", "boolean", "literal")
DATA_TYPES = ("uri_file", "uri_folder")
MODEL_OUTPUT = "score"
MAX_TEXT = 255
_JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class InputValue:
    """A data input (``path``) or a literal (``value``)."""

    type: str | None
    path: str | None = None
    value: Any = None

    @property
    def is_literal(self) -> bool:
        return self.path is None or self.type in LITERAL_TYPES

    def as_data(self) -> InputValue:
        """A plain string that names data (``azureml:heart@latest``, ``https://...``) read as
        a data input, as Azure reads one in ``inputs:``; anything else unchanged."""
        if self.path is None and isinstance(self.value, str) and looks_like_reference(self.value):
            return InputValue(type=None, path=self.value.strip())
        return self

    def as_literal(self) -> InputValue:
        """A path given where a literal is declared (a string the caller's SDK took for a
        reference) read back as the literal text."""
        if self.path is not None and self.type is None and self.value is None:
            return InputValue(type="string", value=self.path)
        return self


@dataclass(frozen=True)
class OutputValue:
    type: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class InvokeSpec:
    """An invoke, whichever body shape it came in."""

    deployment: str | None = None
    inputs: Mapping[str, InputValue] = field(default_factory=dict)
    outputs: Mapping[str, OutputValue] = field(default_factory=dict)
    experiment_name: str | None = None
    job_name: str | None = None
    params_override: Mapping[str, Any] = field(default_factory=dict)
    """Settings for this job, nested as the deployment's (``retry_settings: {timeout: 60}``)."""


def invoke_endpoint(
    session: Session,
    platform: Platform,
    principal: auth.Principal,
    workspace: Workspace,
    endpoint_name: str,
    spec: InvokeSpec,
    *,
    idempotency_key: str | None = None,
) -> tuple[Job, bool]:
    """Create a Queued job; returns it and whether it was created (False: a retry with the same
    idempotency key, which returns the job the first call created)."""
    endpoint = batch_endpoints.read_endpoint(session, workspace, endpoint_name)
    _check_lengths(idempotency_key, spec.experiment_name)
    if idempotency_key:
        existing = _find_by_key(session, workspace, endpoint.name, idempotency_key)
        if existing is not None:
            return existing, False
    deployment = _pick_deployment(session, endpoint, spec.deployment)
    name = _job_name(session, workspace, endpoint, spec.job_name)
    try:
        settings = override_batch_settings(
            BatchSettings.model_validate(deployment.settings),
            spec.params_override,
        )
    except Invalid as exc:
        setting = exc.extra.get("setting")
        field = f"params_override.{setting}" if setting else "params_override"
        raise Invalid(f"params_override: {exc.detail}", field=field) from None
    check = _Checker(session, platform, principal, workspace, name)
    if deployment.kind in ("component", "pipeline"):
        inputs, outputs = check.component(deployment, spec)
        if deployment.kind == "pipeline":
            outputs.update(check.step_outputs(deployment))
    else:
        inputs, outputs, settings = check.model(spec, settings)
    job = Job(
        workspace_id=workspace.id,
        name=name,
        endpoint=endpoint.name,
        deployment=deployment.name,
        kind=deployment.kind,
        status=JobStatus.QUEUED,
        experiment_name=spec.experiment_name or endpoint.name,
        idempotency_key=idempotency_key or None,
        spec=_snapshot(deployment, inputs, outputs),
        inputs=inputs,
        outputs={k: {"type": v["type"], "path": v["reference"]} for k, v in outputs.items()},
        settings=settings.model_dump(mode="json"),
        progress={},
        created_by=principal.user_name,
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except IntegrityError:
        if idempotency_key:
            existing = _find_by_key(session, workspace, endpoint.name, idempotency_key)
            if existing is not None:
                return existing, False
        raise Conflict(f"job {name!r} already exists in workspace {workspace.name!r}") from None
    return job, True


def _check_lengths(idempotency_key: str | None, experiment_name: str | None) -> None:
    if idempotency_key is not None and len(idempotency_key) > MAX_TEXT:
        raise Invalid(f"the idempotency key is longer than {MAX_TEXT} characters")
    if experiment_name is not None:
        check_name_text("experiment_name", experiment_name)


def _find_by_key(session: Session, workspace: Workspace, endpoint: str, key: str) -> Job | None:
    return session.scalar(
        select(Job).where(
            Job.workspace_id == workspace.id, Job.endpoint == endpoint, Job.idempotency_key == key
        )
    )


def _pick_deployment(
    session: Session, endpoint: BatchEndpoint, name: str | None
) -> BatchDeployment:
    chosen = name or endpoint.default_deployment
    if chosen is None:
        raise Conflict(
            f"batch endpoint {endpoint.name!r} has no deployment yet: create one with "
            "'wharf batch-deployment create -f deployment.yml'"
        )
    return batch_deployments.read_deployment(session, endpoint, chosen)


def _job_name(
    session: Session, workspace: Workspace, endpoint: BatchEndpoint, wanted: str | None
) -> str:
    if wanted is None:
        stamp = utcnow().strftime("%Y%m%d%H%M%S")
        return f"{endpoint.name}-{stamp}-{secrets.token_hex(3)}"
    if not _JOB_NAME.fullmatch(wanted):
        raise Invalid(
            f"job name {wanted!r} is not valid: use up to 100 letters, digits, '.', '-' or '_', "
            "starting with a letter or digit",
            field="job_name",
        )
    taken = session.scalar(
        select(Job.id).where(Job.workspace_id == workspace.id, Job.name == wanted)
    )
    if taken is not None:
        raise Conflict(f"job {wanted!r} already exists in workspace {workspace.name!r}")
    return wanted


def _snapshot(
    deployment: BatchDeployment, inputs: dict[str, Any], outputs: dict[str, Any]
) -> dict[str, Any]:
    """What the runner needs, frozen at invoke time (the deployment may change later)."""
    return {
        "folder": deployment.folder,
        "revision": deployment.revision,
        "scoring_script": deployment.scoring_script,
        "entry": deployment.entry,
        "component": deployment.component,
        "environment_source": deployment.environment_source,
        "model": deployment.model_reference,
        "inputs": {k: {x: y for x, y in v.items() if x != "path"} for k, v in inputs.items()},
        "outputs": outputs,
    }


class _Checker:
    """Checks one invoke's inputs and outputs with the caller's permissions."""

    def __init__(
        self,
        session: Session,
        platform: Platform,
        principal: auth.Principal,
        workspace: Workspace,
        job_name: str,
    ) -> None:
        self.session = session
        self.platform = platform
        self.principal = principal
        self.workspace = workspace
        self.job_name = job_name

    def data_input(self, name: str, value: InputValue, expect: str | None) -> dict[str, Any]:
        """A checked data input; ``expect`` is a component's declared type. Without a type
        given or declared, the input is what its path is (a file or a folder)."""
        what = f"input {name!r}"
        if value.type is not None and value.type not in DATA_TYPES:
            raise Invalid(
                f"{what} has type {value.type!r}; data inputs are uri_folder or uri_file",
                field=f"inputs.{name}",
            )
        if expect is not None and value.type not in (None, expect):
            raise Invalid(f"{what} must be a {expect}, not a {value.type}", field=f"inputs.{name}")
        wanted = value.type or expect
        assert value.path is not None
        pinned = job_storage.pin_reference(
            self.session,
            self.principal,
            self.workspace,
            value.path,
            what=what,
            field=f"inputs.{name}",
        )
        if pinned.kind != "url":
            location = job_storage.locate(
                self.session, self.platform, self.workspace, pinned.reference, what=what
            )
            found = self.platform.storage.call(job_storage.path_kind, location)
            if found is None:
                raise Invalid(f"{what}: {pinned.reference} does not exist", field=f"inputs.{name}")
            if wanted is not None and found != wanted:
                raise Invalid(
                    f"{what}: {pinned.reference} is a {found.removeprefix('uri_')}, "
                    f"not a {wanted.removeprefix('uri_')}",
                    field=f"inputs.{name}",
                )
            wanted = found
        else:
            if wanted == "uri_folder":
                raise Invalid(
                    f"{what}: an https:// URL is one file (uri_file); a folder needs a datastore "
                    "path or a data asset",
                    field=f"inputs.{name}",
                )
            try:
                check_url(pinned.reference, allowed=self.platform.settings.private_url_allowlist)
            except Invalid as exc:
                raise Invalid(f"{what}: {exc.detail}", field=f"inputs.{name}") from None
            self._check_url_exists(what, name, pinned.reference)
        return {"type": wanted or "uri_file", "path": value.path, "reference": pinned.reference}

    def _check_url_exists(self, what: str, name: str, reference: str) -> None:
        """A missing file is refused now, not when the job runs minutes later."""
        location = job_storage.locate(
            self.session, self.platform, self.workspace, reference, what=what
        )
        try:
            with location.translate_errors():
                found = location.fs.exists(location.path)
        except NotFound:
            found = False
        if not found:
            raise Invalid(
                f"{what}: {describe_reference(reference)} does not exist (nothing answers "
                "at that address)",
                field=f"inputs.{name}",
            )

    def output(
        self,
        name: str,
        value: OutputValue,
        *,
        want: str,
        file_name: str = "",
        declared: str | None = None,
    ) -> dict[str, Any]:
        """A checked output: its ``type`` and final ``reference``. ``want`` is ``file`` (a folder
        path then gets ``file_name`` appended) or ``folder``; ``declared`` is a component's type."""
        what = f"output {name!r}"
        field = f"outputs.{name}"
        path = value.path or f"wharf://datastores/default/paths/batch-jobs/{self.job_name}/{name}/"
        kind = value.type
        if declared is not None and kind is not None and kind != declared:
            raise Invalid(f"{what} is a {declared}, not a {kind}", field=field)
        if want == "folder":
            if kind == "uri_file":
                raise Invalid(f"{what} must be a folder (uri_folder)", field=field)
            kind = "uri_folder"
        else:
            suffix = PurePosixPath(path.rstrip("/")).suffix.lower()
            folder_given = kind == "uri_folder" or (
                kind is None
                and (path.endswith("/") or (declared is None and suffix not in OUTPUT_FORMATS))
            )
            if folder_given:
                path = path.rstrip("/") + "/" + file_name
            kind = "uri_file"
        pinned = job_storage.pin_reference(
            self.session, self.principal, self.workspace, path, what=what, field=field, write=True
        )
        location = job_storage.locate(
            self.session, self.platform, self.workspace, pinned.reference, what=what
        )
        reference = parse_reference(pinned.reference)
        if location.datastore is not None and isinstance(reference, DatastorePathReference):
            try:
                asset_files.check_not_version_path(
                    self.session, self.workspace, location.datastore, reference.path
                )
            except Conflict as exc:
                raise Conflict(f"{what}: {exc.detail}", code=exc.code, field=field) from None
        if (
            kind == "uri_file"
            and self.platform.storage.call(job_storage.path_kind, location) is not None
        ):
            raise Conflict(
                f"{what}: {pinned.reference} exists already; give another path, or remove "
                "the file first",
                field=field,
            )
        return {"type": kind, "reference": pinned.reference}

    def model(
        self, spec: InvokeSpec, settings: BatchSettings
    ) -> tuple[dict[str, Any], dict[str, Any], BatchSettings]:
        given_inputs = {name: value.as_data() for name, value in spec.inputs.items()}
        for name, value in given_inputs.items():
            if value.is_literal:
                raise Invalid(
                    f"input {name!r} is a literal value; a model deployment takes one data input "
                    "(uri_folder or uri_file), no literals",
                    field=f"inputs.{name}",
                )
        if len(given_inputs) != 1:
            names = ", ".join(repr(n) for n in given_inputs) or "none"
            raise Invalid(
                f"a model deployment takes exactly one data input; got {names}", field="inputs"
            )
        for name in spec.outputs:
            if name != MODEL_OUTPUT:
                raise Invalid(
                    f"output {name!r} is not an output of a model deployment: its one output "
                    f"is {MODEL_OUTPUT!r}",
                    field=f"outputs.{name}",
                )
        ((name, value),) = given_inputs.items()
        inputs = {name: self.data_input(name, value, None)}
        given = spec.outputs.get(MODEL_OUTPUT, OutputValue())
        if settings.output_format is None:  # summary_only: a folder for the script's own files
            outputs = {MODEL_OUTPUT: self.output(MODEL_OUTPUT, given, want="folder")}
            return inputs, outputs, settings
        output = self.output(MODEL_OUTPUT, given, want="file", file_name=settings.output_file_name)
        file_name = PurePosixPath(output["reference"]).name
        # A file path without a known extension (Azure's "batch-jobs/my-unique-path") is
        # written there in the format of output_file_name; a known one picks the format.
        known = PurePosixPath(file_name).suffix.lower() in OUTPUT_FORMATS
        if known and file_name != settings.output_file_name:
            try:
                settings = override_batch_settings(settings, {"output_file_name": file_name})
            except Invalid as exc:
                raise Invalid(f"output 'score': {exc.detail}", field="outputs.score") from None
        return inputs, {MODEL_OUTPUT: output}, settings

    def step_outputs(self, deployment: BatchDeployment) -> dict[str, Any]:
        """The outputs of pipeline steps that no pipeline output takes: kept with the job
        (``<step>.<output>``, under the job's folder) so that they can be downloaded."""
        kept: dict[str, Any] = {}
        for step in deployment.component.get("order", []):
            body = deployment.component["jobs"][step]
            for name, value in (body.get("outputs") or {}).items():
                bound = value.get("path") if isinstance(value, Mapping) else value
                if bound is None:
                    kept[f"{step}.{name}"] = self.output(
                        f"{step}.{name}", OutputValue(), want="folder"
                    )
        return kept

    def component(
        self, deployment: BatchDeployment, spec: InvokeSpec
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        declared_inputs = {
            k: ComponentInput.model_validate(v)
            for k, v in deployment.component.get("inputs", {}).items()
        }
        declared_outputs: dict[str, dict[str, Any]] = deployment.component.get("outputs", {})
        for name in spec.inputs:
            if name not in declared_inputs:
                takes = ", ".join(declared_inputs) or "no inputs"
                raise Invalid(
                    f"input {name!r} is not an input of deployment {deployment.name!r} (it "
                    f"takes {takes})",
                    field=f"inputs.{name}",
                )
        for name in spec.outputs:
            if name not in declared_outputs:
                has = ", ".join(declared_outputs) or "no outputs"
                raise Invalid(
                    f"output {name!r} is not an output of deployment {deployment.name!r} (it "
                    f"has {has})",
                    field=f"outputs.{name}",
                )
        inputs: dict[str, Any] = {}
        for name, declared in declared_inputs.items():
            value = spec.inputs.get(name)
            if value is not None:
                value = value.as_data() if declared.type in DATA_TYPES else value.as_literal()
            if declared.type in DATA_TYPES:
                if value is None and declared.default is not None:
                    value = InputValue(type=None, path=str(declared.default))
                if value is None:
                    if not declared.optional:
                        raise Invalid(f"input {name!r} is required", field=f"inputs.{name}")
                    continue
                if value.path is None:
                    raise Invalid(
                        f"input {name!r} is a {declared.type}: give a path, not a value",
                        field=f"inputs.{name}",
                    )
                inputs[name] = self.data_input(name, value, declared.type)
                continue
            if value is not None and value.path is not None:
                raise Invalid(
                    f"input {name!r} is a {declared.type}: give a value, not a path",
                    field=f"inputs.{name}",
                )
            raw = value.value if value is not None else declared.default
            if raw is None:
                if not declared.optional:
                    raise Invalid(f"input {name!r} is required", field=f"inputs.{name}")
                continue
            try:
                converted = coerce_input(name, declared.type, raw)
            except Invalid as exc:
                raise Invalid(exc.detail, field=f"inputs.{name}") from None
            inputs[name] = {"type": declared.type, "value": converted}
        outputs = {
            name: self.output(
                name,
                spec.outputs.get(name, OutputValue()),
                want="file" if declared["type"] == "uri_file" else "folder",
                file_name=name,
                declared=declared["type"],
            )
            for name, declared in declared_outputs.items()
        }
        return inputs, outputs

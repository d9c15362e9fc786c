"""Batch deployment settings: the knobs of a scoring job, with the design's defaults and ranges."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from wharf.errors import Invalid

OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl"}
"""Output file extensions Wharf can write, and the format each one selects."""

LoggingLevel = Literal["debug", "info", "warning", "error", "critical"]
OutputAction = Literal["append_row", "summary_only"]

# Azure ML's REST API spells the output actions in PascalCase; accept them so YAML moves over.
_OUTPUT_ACTION_ALIASES = {"appendrow": "append_row", "summaryonly": "summary_only"}


class RetrySettings(BaseModel):
    """How often a failing mini-batch is tried again, and how long one try may take."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    max_retries: int = Field(default=3, ge=0)
    """Tries after the first one before a mini-batch counts as failed (3 means at most 4 tries)."""

    timeout: float = Field(default=30.0, gt=0)
    """Seconds one ``run()`` call may take; a call that takes longer is killed and retried."""


class BatchSettings(BaseModel):
    """How a batch deployment splits, runs and writes a job. Field names follow Azure ML."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    mini_batch_size: int = Field(default=10, ge=1)
    """Files per mini-batch when a folder is split by files."""

    mini_batch_rows: int | None = Field(default=None, ge=1)
    """When set, CSV and Parquet inputs are split by rows instead: this many rows per mini-batch
    (a mini-batch may span the end of one file and the start of the next)."""

    mlflow_output_layout: Literal["wharf", "azure"] = "wharf"
    """MLflow model deployments without a scoring script: ``wharf`` writes the prediction
    columns then ``file`` and ``row`` (1-based within the file); ``azure`` writes Azure ML's
    driver's columns, the prediction columns then ``file``."""

    instance_count: int = Field(default=1, ge=1)
    """Instances (machines) the job runs on. The local executor runs them all on this machine."""

    max_concurrency_per_instance: int = Field(default=1, ge=1)
    """Worker processes per instance. The job runs ``instance_count * max_concurrency_per_instance``
    workers, each calling ``init()`` once."""

    error_threshold: int = Field(default=-1, ge=-1)
    """Failed items (files, or rows when split by rows) the job tolerates. The job fails as soon as
    more than this many items have failed for good; -1 never fails the job for failed items."""

    retry_settings: RetrySettings = Field(default_factory=RetrySettings)
    """Retries and the per-call timeout."""

    output_action: OutputAction = "append_row"
    """``append_row`` writes every returned row to one output file; ``summary_only`` writes no
    output file and only counts (the scoring script may write its own files)."""

    output_file_name: str = "predictions.csv"
    """Name of the output file for ``append_row``; its extension picks the format: ``.csv``
    (with a header row), ``.parquet`` or ``.jsonl``."""

    logging_level: LoggingLevel = "info"
    """Level of the ``logging`` root logger in the worker processes."""

    environment_variables: dict[str, str] = Field(default_factory=dict)
    """Variables set in every worker process."""

    @field_validator("output_action", mode="before")
    @classmethod
    def _accept_azure_output_action(cls, value: object) -> object:
        if isinstance(value, str):
            return _OUTPUT_ACTION_ALIASES.get(value.replace("_", "").lower(), value)
        return value

    @field_validator("environment_variables", mode="before")
    @classmethod
    def _stringify_values(cls, value: object) -> object:
        # YAML reads `OMP_NUM_THREADS: 1` as a number; an environment only holds text.
        if isinstance(value, dict):
            return {key: _environment_text(item) for key, item in value.items()}
        return value

    @field_validator("logging_level", mode="before")
    @classmethod
    def _lowercase_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("output_file_name")
    @classmethod
    def _check_output_file_name(cls, value: str) -> str:
        path = PurePosixPath(value)
        if not value or "\\" in value or path.name != value or value in (".", ".."):
            raise ValueError("must be a plain file name, without folders")
        if path.suffix.lower() not in OUTPUT_FORMATS:
            raise ValueError(f"must end with one of {', '.join(OUTPUT_FORMATS)}")
        return value

    @property
    def process_count(self) -> int:
        """Worker processes the job runs."""
        return self.instance_count * self.max_concurrency_per_instance

    @property
    def output_format(self) -> str | None:
        """``csv``, ``parquet`` or ``jsonl`` for ``append_row``; None for ``summary_only``."""
        if self.output_action == "summary_only":
            return None
        return OUTPUT_FORMATS[PurePosixPath(self.output_file_name).suffix.lower()]


def _environment_text(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def parse_batch_settings(data: Mapping[str, Any]) -> BatchSettings:
    """Validate deployment settings, raising ``Invalid`` with one line per broken field (and
    the first broken one's dotted name as ``setting``)."""
    try:
        return BatchSettings.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]["loc"] if exc.errors() else ()
        raise Invalid(
            describe_validation_error(exc),
            code="invalid-batch-settings",
            setting=".".join(str(part) for part in first),
        ) from None


def override_batch_settings(settings: BatchSettings, overrides: Mapping[str, Any]) -> BatchSettings:
    """The settings with an invoke's ``params_override`` applied (validated the same way).

    ``retry_settings`` may be overridden partly: ``{"retry_settings": {"timeout": 60}}`` keeps
    ``max_retries``.
    """
    merged = settings.model_dump()
    for key, value in overrides.items():
        if key == "retry_settings" and isinstance(value, Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return parse_batch_settings(merged)


def describe_validation_error(exc: ValidationError) -> str:
    """Pydantic's errors as ``field: message`` lines a person can act on."""
    lines = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"]) or "settings"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "is not a batch deployment setting"
        lines.append(f"{location}: {message}")
    return "; ".join(lines)

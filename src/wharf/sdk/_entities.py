"""Entities a user builds and gets back: ``Data`` and ``Model`` (shaped like Azure ML SDK v2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Data(BaseModel):
    """A data asset version: a file (``uri_file``) or a folder (``uri_folder``) in storage.

    ``path`` may be a local file or folder: ``client.data.create_or_update`` uploads it to the
    workspace's default datastore first.
    """

    model_config = ConfigDict(extra="allow")

    name: str
    path: str
    type: str = "uri_folder"
    version: str | None = None
    description: str = ""
    tags: dict[str, Any] = Field(default_factory=dict)
    archived: bool = False
    created_by: str | None = None
    created_at: datetime | None = None
    reference: str | None = Field(default=None, description="e.g. data:heart:2")
    id: str | None = Field(default=None, description="Azure ML resource id, a reference too")


class Model(BaseModel):
    """A model version: a folder of model files and its flavor (``custom`` or ``mlflow``)."""

    model_config = ConfigDict(extra="allow")

    name: str
    path: str
    flavor: str = "custom"
    version: str | None = None
    description: str = ""
    tags: dict[str, Any] = Field(default_factory=dict)
    archived: bool = False
    created_by: str | None = None
    created_at: datetime | None = None
    reference: str | None = Field(default=None, description="e.g. model:heart-clf:1")
    id: str | None = Field(default=None, description="Azure ML resource id, a reference too")
    properties: dict[str, Any] = Field(
        default_factory=dict, description="an MLflow model's flavors, signature, requirements"
    )

    @model_validator(mode="before")
    @classmethod
    def _azure_model_type(cls, data: Any) -> Any:
        """Azure ML's ``type: custom_model | mlflow_model`` names the flavor."""
        if isinstance(data, dict) and data.get("type") in ("custom_model", "mlflow_model"):
            data = {**data, "flavor": data["type"].removesuffix("_model")}
            del data["type"]
        return data

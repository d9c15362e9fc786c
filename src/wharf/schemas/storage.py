"""Wire shapes of datastores, data assets and models.

Datastore fields follow Azure ML's datastore YAML where they overlap (``account_name``,
``container_name``, ``credentials``), so existing files move over unchanged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from wharf.schemas.common import RequestModel, ResponseModel
from wharf.schemas.text import AnyTags, Description, Name

DatastoreType = Literal["local", "s3", "azure_blob", "gcs"]
DataType = Literal["uri_file", "uri_folder"]
ModelFlavor = Literal["custom", "mlflow"]


class DatastoreCreate(RequestModel):
    name: Name
    type: DatastoreType
    description: Description = ""
    root: str | None = Field(default=None, description="local: folder (must be an allowed root)")
    bucket: str | None = Field(default=None, description="s3 / gcs: bucket name")
    prefix: str | None = Field(default=None, description="s3 / gcs / azure_blob: key prefix")
    endpoint_url: str | None = Field(default=None, description="s3 / gcs: a non-cloud endpoint")
    region: str | None = Field(default=None, description="s3: region")
    account_name: str | None = Field(default=None, description="azure_blob: storage account")
    container_name: str | None = Field(default=None, description="azure_blob: container")
    endpoint: str | None = Field(
        default=None, description="azure_blob: endpoint suffix (default core.windows.net)"
    )
    protocol: Literal["https", "http"] | None = Field(default=None, description="azure_blob")
    account_url: str | None = Field(
        default=None, description="azure_blob: full blob service URL (Azurite, private clouds)"
    )
    project: str | None = Field(default=None, description="gcs: project")
    credentials: dict[str, str] | None = Field(
        default=None,
        description="write-only: s3 access_key_id/secret_access_key; azure_blob account_key, "
        "sas_token or connection_string; gcs service_account_json",
    )


class Datastore(ResponseModel):
    name: str
    type: DatastoreType
    description: str
    settings: dict[str, Any] = Field(description="the non-secret fields")
    has_credentials: bool
    is_default: bool
    created_by: str | None = None
    created_at: datetime


class DataVersionCreate(RequestModel):
    version: Name | None = Field(default=None, description="default: the next number")
    type: DataType = "uri_folder"
    path: str = Field(
        description="wharf://datastores/<ds>/paths/<p>, s3://, az://, gs://, https://"
    )
    description: Description = ""
    tags: AnyTags = Field(default_factory=dict)


class ModelVersionCreate(RequestModel):
    version: Name | None = Field(default=None, description="default: the next number")
    path: str = Field(description="a folder of model files, as a storage reference")
    flavor: ModelFlavor = "custom"
    description: Description = ""
    tags: AnyTags = Field(default_factory=dict)


class AssetVersion(ResponseModel):
    name: str
    version: str
    type: str
    path: str
    description: str
    tags: dict[str, Any]
    flavor: str | None = None
    archived: bool
    created_by: str | None = None
    created_at: datetime
    reference: str = Field(description="how jobs name this version, e.g. data:heart:2")


class Asset(ResponseModel):
    name: str
    latest_version: str | None
    archived: bool
    created_at: datetime


class StoredFile(ResponseModel):
    path: str
    size: int | None = None
    type: str = Field(description="file or directory")

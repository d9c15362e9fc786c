"""Wire shapes of notebook workbenches."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from wharf.schemas.common import RequestModel, ResponseModel
from wharf.schemas.text import Name
from wharf.states import WorkbenchPhase


class WorkbenchCreate(RequestModel):
    name: Name = Field(description="1-63 lower-case letters, digits and dashes")
    requirements: str = Field(
        default="",
        max_length=64 * 1024,
        description="extra requirements (requirements.txt lines) installed beside JupyterLab",
    )
    cpu: str | None = Field(default=None, description="CPU limit, e.g. 500m or 2")
    memory: str | None = Field(default=None, description="memory limit, e.g. 2Gi")
    idle_timeout: str | None = Field(
        default=None, description="stop it after this long idle (2h, 30m, 90s); null: never"
    )
    source_secret: str | None = Field(
        default=None, description="a source secret whose credentials git uses inside it"
    )


class Workbench(ResponseModel):
    name: str
    workspace: str
    owner: str
    phase: WorkbenchPhase
    message: str = Field(description="why it is in its phase, e.g. 'culled after 2h idle'")
    url: str = Field(description="its own origin; open it with a sign-in link")
    cpu: str | None = None
    memory: str | None = None
    idle_timeout: str = Field(description="2h, 30m ... or never")
    source_secret: str | None = None
    requirements: str = ""
    last_activity: datetime | None = None
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    created_at: datetime


class SignInLink(ResponseModel):
    url: str = Field(description="a one-time link (two minutes) that signs the owner in")

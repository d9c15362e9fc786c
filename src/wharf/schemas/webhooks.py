"""Wire shapes of app webhooks, rollbacks and git source secrets."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from wharf.schemas.common import RequestModel, ResponseModel
from wharf.schemas.text import Name


class WebhookUrls(ResponseModel):
    urls: dict[str, str] = Field(description="provider → webhook URL, secret included")
    signing_secret_set: bool = Field(description="whether deliveries must be signed too")


class SigningSecretUpdate(RequestModel):
    value: str | None = Field(
        default=None, description="the signing secret to require; null with generate=false clears"
    )
    generate: bool = Field(default=False, description="let Wharf make one (shown once)")


class SigningSecretResult(ResponseModel):
    signing_secret_set: bool
    generated: str | None = Field(default=None, description="the generated secret, shown once")


class WebhookDelivery(ResponseModel):
    received_at: datetime
    provider: str
    event: str
    delivery_id: str | None = None
    result: str = Field(
        description="queued (a build was started), coalesced, skipped, ignored, duplicate or "
        "rejected"
    )
    detail: str
    commit_sha: str | None = None
    build: int | None = Field(default=None, description="the build it queued or updated")


class HookResponse(ResponseModel):
    result: str
    detail: str
    build: int | None = None
    commit_sha: str | None = None


class Rollback(RequestModel):
    to: int | None = Field(
        default=None, description="the build to serve; default: the Complete one before"
    )


class SourceSecretCreate(RequestModel):
    name: Name
    username: Name | None = Field(default=None, description="https: the user (default 'git')")
    password: str | None = Field(default=None, description="https: a password or token")
    ssh_private_key: str | None = Field(default=None, description="ssh: the private key")
    known_hosts: str | None = Field(
        default=None, description="ssh: known_hosts lines; without them host keys are not checked"
    )


class SourceSecret(ResponseModel):
    name: str
    type: str = Field(description="basic-auth or ssh")
    fields: list[str] = Field(description="which values it holds (never the values)")
    used_by: list[str] = Field(default_factory=list, description="apps that use it")
    created_by: str | None = None
    created_at: datetime

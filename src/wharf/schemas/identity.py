"""Wire shapes of users, tokens, workspaces, roles and members."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from wharf.schemas.common import RequestModel, ResponseModel
from wharf.schemas.text import Description, Name


class UserCreate(RequestModel):
    name: Name = Field(description="1-63 lower-case letters, digits, '.', '-' or '_'")
    email: Name | None = None
    is_admin: bool = Field(default=False, description="platform admin: every permission")


class User(ResponseModel):
    name: str
    email: str | None = None
    is_admin: bool
    created_at: datetime


class PasswordSet(RequestModel):
    password: str = Field(
        min_length=1, max_length=1024, description="the new console password (10+ characters)"
    )


class TokenCreate(RequestModel):
    name: Name = Field(default="cli", description="what the token is for")
    user: Name | None = Field(default=None, description="whose token (admins only); default: you")
    expires_in: str | None = Field(
        default=None, description="lifetime such as 30d, 12h, 90m, 2w, or 'never'"
    )


class Token(ResponseModel):
    id: str
    name: str
    user: str
    state: str = Field(description="active, expired or revoked")
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class TokenCreated(Token):
    token: str = Field(description="the secret itself: shown once, store it now")


class WorkspaceCreate(RequestModel):
    name: Name = Field(description="1-63 lower-case letters, digits and dashes")
    description: Description = ""


class WorkspaceUpdate(RequestModel):
    description: Description


class Workspace(ResponseModel):
    name: str
    description: str
    created_at: datetime


class RoleCreate(RequestModel):
    name: Name
    permissions: list[Name] = Field(
        max_length=256, description="permission patterns such as apps/* or */read"
    )
    description: Description = ""


class Role(ResponseModel):
    name: str
    description: str
    permissions: list[str]
    builtin: bool


class Permission(ResponseModel):
    name: str
    description: str


class MemberAssign(RequestModel):
    role: Name


class Member(ResponseModel):
    user: str
    role: str
    created_at: datetime

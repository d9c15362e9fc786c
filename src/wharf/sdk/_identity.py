"""Operation groups for users, tokens, workspaces, roles and members."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from wharf.schemas.identity import Member, Permission, Role, Token, TokenCreated, User, Workspace

if TYPE_CHECKING:
    from wharf.sdk._client import Client


class _Operations:
    def __init__(self, client: Client) -> None:
        self._client = client


class UserOperations(_Operations):
    """``client.users``: platform admins create and list users."""

    def create(self, name: str, *, email: str | None = None, is_admin: bool = False) -> User:
        body = {"name": name, "email": email, "is_admin": is_admin}
        return User.model_validate(self._client._request("POST", "/users", json=body))

    def list(self) -> builtins.list[User]:
        return [User.model_validate(u) for u in self._client._request("GET", "/users")]

    def get(self, name: str) -> User:
        return User.model_validate(self._client._request("GET", f"/users/{name}"))

    def me(self) -> User:
        """The user this client's token belongs to."""
        return User.model_validate(self._client._request("GET", "/users/me"))

    def set_password(self, name: str, password: str) -> None:
        """Set a user's web console password (yours, or anyone's as a platform admin)."""
        self._client._request("PUT", f"/users/{name}/password", json={"password": password})


class TokenOperations(_Operations):
    """``client.tokens``: your tokens, or (admins) anyone's."""

    def create(
        self, name: str = "cli", *, user: str | None = None, expires_in: str | None = None
    ) -> TokenCreated:
        """A new token; ``.token`` holds the secret, shown only this once."""
        body = {"name": name, "user": user, "expires_in": expires_in}
        return TokenCreated.model_validate(self._client._request("POST", "/tokens", json=body))

    def list(self, *, user: str | None = None) -> builtins.list[Token]:
        params = {"user": user} if user else None
        return [
            Token.model_validate(t) for t in self._client._request("GET", "/tokens", params=params)
        ]

    def revoke(self, token_id: str) -> Token:
        return Token.model_validate(self._client._request("DELETE", f"/tokens/{token_id}"))


class WorkspaceOperations(_Operations):
    """``client.workspaces``."""

    def create(self, name: str, *, description: str = "") -> Workspace:
        body = {"name": name, "description": description}
        return Workspace.model_validate(self._client._request("POST", "/workspaces", json=body))

    def list(self) -> builtins.list[Workspace]:
        return [Workspace.model_validate(w) for w in self._client._request("GET", "/workspaces")]

    def get(self, name: str | None = None) -> Workspace:
        path = f"/workspaces/{name or self._client.workspace}"
        return Workspace.model_validate(self._client._request("GET", path))


class RoleOperations(_Operations):
    """``client.roles``: roles of the client's workspace."""

    def list(self, *, workspace: str | None = None) -> builtins.list[Role]:
        path = self._client.workspace_path("/roles", workspace)
        return [Role.model_validate(r) for r in self._client._request("GET", path)]

    def get(self, name: str, *, workspace: str | None = None) -> Role:
        path = self._client.workspace_path(f"/roles/{name}", workspace)
        return Role.model_validate(self._client._request("GET", path))

    def create(
        self,
        name: str,
        permissions: builtins.list[str],
        *,
        description: str = "",
        workspace: str | None = None,
    ) -> Role:
        path = self._client.workspace_path("/roles", workspace)
        body = {"name": name, "permissions": permissions, "description": description}
        return Role.model_validate(self._client._request("POST", path, json=body))

    def delete(self, name: str, *, workspace: str | None = None) -> None:
        self._client._request("DELETE", self._client.workspace_path(f"/roles/{name}", workspace))

    def permissions(self, *, workspace: str | None = None) -> builtins.list[Permission]:
        """Every permission a custom role can grant."""
        path = self._client.workspace_path("/permissions", workspace)
        return [Permission.model_validate(p) for p in self._client._request("GET", path)]


class MemberOperations(_Operations):
    """``client.members``: who holds which role in the client's workspace."""

    def list(self, *, workspace: str | None = None) -> builtins.list[Member]:
        path = self._client.workspace_path("/members", workspace)
        return [Member.model_validate(m) for m in self._client._request("GET", path)]

    def assign(self, user: str, role: str, *, workspace: str | None = None) -> Member:
        """Give ``user`` ``role`` in the workspace, replacing the role they held."""
        path = self._client.workspace_path(f"/members/{user}", workspace)
        return Member.model_validate(self._client._request("PUT", path, json={"role": role}))

    def remove(self, user: str, *, workspace: str | None = None) -> None:
        self._client._request("DELETE", self._client.workspace_path(f"/members/{user}", workspace))

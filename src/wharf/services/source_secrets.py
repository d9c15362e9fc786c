"""Source secrets: credentials for private git repositories, referenced by name from apps.

Values are write-only: they go in with :func:`create_source_secret`, are stored encrypted,
and come out only inside :func:`open_source_secret`, for git. No response, log line or error
text carries them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from wharf.build.git import GitCredentials
from wharf.errors import Conflict, Invalid, NotFound
from wharf.services.naming import check_dns_label
from wharf.services.secrets import SecretBox
from wharf.store.models import App, SourceSecret, Workspace

BASIC_AUTH, SSH = "basic-auth", "ssh"
SECRET_KINDS = (BASIC_AUTH, SSH)
_MAX_VALUE = 64 * 1024


@dataclass(frozen=True)
class SourceSecretSpec:
    """What a caller gives to create a source secret: a password (or token), with an optional
    username, for https; or an SSH private key, with optional known-hosts lines."""

    name: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssh_private_key: str | None = field(default=None, repr=False)
    known_hosts: str | None = None


def _kind_of(spec: SourceSecretSpec) -> str:
    if spec.password and spec.ssh_private_key:
        raise Invalid(
            "give either a password (or token) or an SSH private key, not both",
            field="ssh_private_key",
        )
    if spec.ssh_private_key:
        if "PRIVATE KEY-----" not in spec.ssh_private_key:
            raise Invalid(
                "the SSH private key does not look like one: expected a PEM or OpenSSH block "
                "starting with '-----BEGIN ... PRIVATE KEY-----'",
                field="ssh_private_key",
            )
        if spec.username:
            raise Invalid(
                "an SSH secret has no username: put the user in the git URL (git@host:...)",
                field="username",
            )
        return SSH
    if spec.password:
        if spec.known_hosts:
            raise Invalid("known hosts apply to SSH secrets only", field="known_hosts")
        if spec.username is not None and (not spec.username or ":" in spec.username):
            raise Invalid("the username must not be empty or contain ':'", field="username")
        return BASIC_AUTH
    raise Invalid(
        "a source secret needs a password (or token) or an SSH private key", field="password"
    )


def create_source_secret(
    session: Session,
    box: SecretBox,
    workspace: Workspace,
    spec: SourceSecretSpec,
    *,
    created_by: str | None,
) -> SourceSecret:
    """Store a new source secret, encrypted."""
    check_dns_label("source secret", spec.name)
    kind = _kind_of(spec)
    for name in ("password", "ssh_private_key", "known_hosts"):
        value = getattr(spec, name)
        if value is not None and len(value) > _MAX_VALUE:
            raise Invalid(f"{name} is longer than {_MAX_VALUE} characters", field=name)
    if _find(session, workspace, spec.name) is not None:
        raise Conflict(f"source secret {spec.name!r} already exists in {workspace.name!r}")
    values = {
        key: getattr(spec, key)
        for key in ("username", "password", "ssh_private_key", "known_hosts")
        if getattr(spec, key)
    }
    secret = SourceSecret(
        workspace_id=workspace.id,
        name=spec.name,
        kind=kind,
        sealed=box.encrypt(json.dumps(values)),
        created_by=created_by,
    )
    session.add(secret)
    session.flush()
    return secret


def _find(session: Session, workspace: Workspace, name: str) -> SourceSecret | None:
    return session.scalar(
        select(SourceSecret).where(
            SourceSecret.workspace_id == workspace.id, SourceSecret.name == name
        )
    )


def read_source_secret(session: Session, workspace: Workspace, name: str) -> SourceSecret:
    secret = _find(session, workspace, name)
    if secret is None:
        raise NotFound(
            f"source secret {name!r} does not exist in workspace {workspace.name!r}",
            field="source_secret",
        )
    return secret


def list_source_secrets(session: Session, workspace: Workspace) -> list[SourceSecret]:
    return list(
        session.scalars(
            select(SourceSecret)
            .where(SourceSecret.workspace_id == workspace.id)
            .order_by(SourceSecret.name)
        )
    )


def secret_fields(box: SecretBox, secret: SourceSecret) -> list[str]:
    """The names of the values a secret holds (never the values)."""
    return sorted(json.loads(box.decrypt(secret.sealed)))


def apps_using(session: Session, secret: SourceSecret) -> list[str]:
    """The names of the apps that build with ``secret``."""
    return list(
        session.scalars(
            select(App.name)
            .where(App.workspace_id == secret.workspace_id, App.source_secret == secret.name)
            .order_by(App.name)
        )
    )


def delete_source_secret(session: Session, workspace: Workspace, name: str) -> None:
    """Forget a secret; refused while an app still uses it."""
    secret = read_source_secret(session, workspace, name)
    users = apps_using(session, secret)
    if users:
        raise Conflict(
            f"source secret {name!r} is used by app(s) {', '.join(users)}: delete those apps first"
        )
    session.delete(secret)
    session.flush()


def open_source_secret(
    session: Session, box: SecretBox, workspace: Workspace, name: str | None
) -> GitCredentials | None:
    """The credentials git needs for an app's source (None for a public repository)."""
    if name is None:
        return None
    values = json.loads(box.decrypt(read_source_secret(session, workspace, name).sealed))
    return GitCredentials(
        username=values.get("username"),
        password=values.get("password"),
        ssh_private_key=values.get("ssh_private_key"),
        known_hosts=values.get("known_hosts"),
    )

"""Versioned assets (data assets and models): immutable versions, numbered without races.

Versions are strings. When a caller gives none, the next number is taken from the container's
counter with one atomic ``UPDATE ... RETURNING``, so two concurrent creates never get the same
number on SQLite or PostgreSQL. A numeric version given explicitly moves the counter past it.
``latest`` is the most recently created version that is not archived.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wharf.errors import Conflict, Invalid, NotFound
from wharf.store.models import AssetContainer, AssetVersion, Workspace
from wharf.store.types import utcnow

AssetKind = Literal["data", "model"]
LATEST = "latest"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_NOUN = {"data": "data asset", "model": "model"}


@dataclass(frozen=True)
class NewVersion:
    """What a caller gives to create a version; ``path`` is a canonical reference."""

    type: str
    path: str
    version: str | None = None
    description: str = ""
    tags: dict[str, Any] = field(default_factory=dict)
    flavor: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


def check_asset_name(kind: AssetKind, name: str) -> str:
    if not _NAME.fullmatch(name):
        raise Invalid(
            f"{_NOUN[kind]} name {name!r} is not valid: use up to 255 letters, digits, "
            "'.', '-' or '_', starting with a letter or digit",
            field="name",
        )
    return name


def check_version(version: str) -> str:
    if version == LATEST or not _VERSION.fullmatch(version):
        raise Invalid(
            f"version {version!r} is not valid: use up to 64 letters, digits, '.', '-' or '_' "
            "('latest' is a label, not a version)",
            field="version",
        )
    return version


def create_asset_version(
    session: Session,
    workspace: Workspace,
    kind: AssetKind,
    name: str,
    new: NewVersion,
    *,
    created_by: str | None,
) -> AssetVersion:
    """Add a version to the asset ``name`` (creating the asset on first use)."""
    check_asset_name(kind, name)
    container = _ensure_container(session, workspace, kind, name)
    if new.version is None:
        number = session.execute(
            update(AssetContainer)
            .where(AssetContainer.id == container.id)
            .values(next_version=AssetContainer.next_version + 1)
            .returning(AssetContainer.next_version)
        ).scalar_one()
        version = str(number - 1)
    else:
        version = check_version(new.version)
        if version.isdigit():
            session.execute(
                update(AssetContainer)
                .where(
                    AssetContainer.id == container.id,
                    AssetContainer.next_version <= int(version),
                )
                .values(next_version=int(version) + 1)
            )
    record = AssetVersion(
        container_id=container.id,
        version=version,
        type=new.type,
        path=new.path,
        description=new.description,
        tags=dict(new.tags),
        flavor=new.flavor,
        properties=dict(new.properties),
        created_by=created_by,
    )
    session.add(record)
    try:
        session.flush()
    except IntegrityError as exc:  # the whole transaction is void now; nothing half-written
        raise Conflict(
            f"{_NOUN[kind]} {name!r} already has version {version!r}; versions are immutable: "
            "give a new version, or none to get the next number"
        ) from exc
    container.archived = False
    session.flush()
    return record


def _ensure_container(
    session: Session, workspace: Workspace, kind: AssetKind, name: str
) -> AssetContainer:
    query = select(AssetContainer).where(
        AssetContainer.workspace_id == workspace.id,
        AssetContainer.kind == kind,
        AssetContainer.name == name,
    )
    container = session.scalar(query)
    if container is not None:
        return container
    # Two first versions created at once must share one container: insert-if-absent.
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(AssetContainer)
        .values(
            workspace_id=workspace.id,
            kind=kind,
            name=name,
            next_version=1,
            archived=False,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "kind", "name"])
    )
    container = session.scalar(query)
    assert container is not None
    return container


def read_container(
    session: Session, workspace: Workspace, kind: AssetKind, name: str
) -> AssetContainer:
    container = session.scalar(
        select(AssetContainer).where(
            AssetContainer.workspace_id == workspace.id,
            AssetContainer.kind == kind,
            AssetContainer.name == name,
        )
    )
    if container is None:
        raise NotFound(f"{_NOUN[kind]} {name!r} does not exist in workspace {workspace.name!r}")
    return container


def read_asset_version(
    session: Session,
    workspace: Workspace,
    kind: AssetKind,
    name: str,
    *,
    version: str | None = None,
    label: str | None = None,
) -> AssetVersion:
    """One version, by number/name or by the label ``latest`` (the default)."""
    if version is not None and label is not None:
        raise Invalid("give a version or a label, not both", field="version")
    container = read_container(session, workspace, kind, name)
    if version is None or version == LATEST:
        if label not in (None, LATEST):
            raise Invalid(f"unknown label {label!r}: the only label is 'latest'", field="label")
        found = session.scalar(
            select(AssetVersion)
            .where(AssetVersion.container_id == container.id, AssetVersion.archived.is_(False))
            .order_by(AssetVersion.id.desc())
            .limit(1)
        )
        if found is None:
            raise NotFound(f"{_NOUN[kind]} {name!r} has no version that is not archived")
        return found
    found = session.scalar(
        select(AssetVersion).where(
            AssetVersion.container_id == container.id, AssetVersion.version == version
        )
    )
    if found is None:
        raise NotFound(f"{_NOUN[kind]} {name!r} has no version {version!r}")
    return found


def latest_version(
    session: Session, workspace: Workspace, kind: AssetKind, name: str
) -> str | None:
    """The version ``latest`` names now, None when every version is archived."""
    try:
        return read_asset_version(session, workspace, kind, name).version
    except NotFound:
        read_container(session, workspace, kind, name)  # an unknown asset stays NotFound
        return None


def list_assets_with_latest(
    session: Session, workspace: Workspace, kind: AssetKind, *, include_archived: bool = False
) -> list[tuple[AssetContainer, str | None]]:
    """Each asset with its ``latest`` version (None when every version is archived), in one
    query rather than one per asset."""
    newest = (
        select(AssetVersion.container_id, func.max(AssetVersion.id).label("version_id"))
        .where(AssetVersion.archived.is_(False))
        .group_by(AssetVersion.container_id)
        .subquery()
    )
    query = (
        select(AssetContainer, AssetVersion.version)
        .outerjoin(newest, newest.c.container_id == AssetContainer.id)
        .outerjoin(AssetVersion, AssetVersion.id == newest.c.version_id)
        .where(AssetContainer.workspace_id == workspace.id, AssetContainer.kind == kind)
        .order_by(AssetContainer.name)
    )
    if not include_archived:
        query = query.where(AssetContainer.archived.is_(False))
    return [(container, version) for container, version in session.execute(query)]


def list_versions(
    session: Session,
    workspace: Workspace,
    kind: AssetKind,
    name: str,
    *,
    include_archived: bool = False,
) -> list[AssetVersion]:
    """Versions of one asset, newest first."""
    container = read_container(session, workspace, kind, name)
    query = select(AssetVersion).where(AssetVersion.container_id == container.id)
    if not include_archived:
        query = query.where(AssetVersion.archived.is_(False))
    return list(session.scalars(query.order_by(AssetVersion.id.desc())))


def set_archived(
    session: Session,
    workspace: Workspace,
    kind: AssetKind,
    name: str,
    *,
    version: str | None,
    archived: bool,
) -> None:
    """Archive (or restore) one version, or the whole asset when no version is given.

    Archived versions are hidden from listings and from ``latest`` but still resolve by their
    explicit version, so jobs that name them keep working.
    """
    container = read_container(session, workspace, kind, name)
    if version is None:
        container.archived = archived
    else:
        read_asset_version(session, workspace, kind, name, version=version).archived = archived
    session.flush()

"""Where batch deployments and jobs read and write: references checked under the caller,
resolved to storage, and copied between storage and the server's local folders.

A reference is checked with the caller's permissions when it is given (deployment create,
invoke) and pinned (``data:heart@latest`` becomes ``data:heart:3``), so a job reads what its
creator was allowed to read at that moment, even if it runs after a restart.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from fsspec.implementations.local import LocalFileSystem  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from wharf.errors import Conflict, Forbidden, Invalid, NotFound
from wharf.services import assets, auth, datastores
from wharf.services.platform import Platform
from wharf.storage.datastores import OpenDatastore
from wharf.storage.paths import is_within
from wharf.storage.references import (
    AssetKind,
    AssetReference,
    DatastorePathReference,
    LocalPathReference,
    Reference,
    UrlReference,
    describe_reference,
    format_reference,
    parse_reference,
)
from wharf.storage.resolver import Location, resolve_reference
from wharf.store.models import Workspace


@dataclass(frozen=True)
class PinnedReference:
    """A checked reference: ``reference`` is canonical, with asset versions pinned."""

    reference: str
    kind: str
    """``data``, ``model``, ``datastore`` or ``url``."""


def pin_reference(
    session: Session,
    principal: auth.Principal,
    workspace: Workspace,
    text: str,
    *,
    what: str,
    field: str,
    azureml_kind: AssetKind = "data",
    write: bool = False,
) -> PinnedReference:
    """Parse ``text``, check the caller may read (or ``write``) it, pin asset versions.

    ``what`` names the reference in messages (``input 'heart'``); ``field`` is the problem's
    field. Raises Invalid, Forbidden or NotFound, each naming ``what``.
    """
    try:
        reference = parse_reference(text, azureml_kind=azureml_kind)
    except Invalid as exc:
        raise Invalid(f"{what}: {exc.detail}", code=exc.code, field=field) from None
    if isinstance(reference, LocalPathReference):
        raise Invalid(
            f"{what}: {describe_reference(text)!r} is a local path; the server does not read its "
            "own disk for callers: upload it first (the CLI and SDK do this) or give a "
            "datastore path or data asset",
            field=field,
        )
    if write and not isinstance(reference, DatastorePathReference):
        raise Invalid(
            f"{what}: {describe_reference(text)!r} cannot be written; give a datastore path "
            "(wharf://datastores/<datastore>/paths/<path>)",
            field=field,
        )
    permission = _permission(reference, write)
    if permission is not None:
        try:
            auth.authorize_workspace(session, principal, workspace.name, permission)
        except Forbidden as exc:
            raise Forbidden(f"{what}: {exc.detail}", field=field) from None
    if isinstance(reference, AssetReference):
        try:
            version = assets.read_asset_version(
                session,
                workspace,
                reference.kind,
                reference.name,
                version=reference.version,
                label=reference.label,
            )
        except NotFound as exc:
            shown = describe_reference(text)
            raise NotFound(f"{what} {shown!r}: {exc.detail}", field=field) from None
        pinned = AssetReference(reference.kind, reference.name, version.version)
        return PinnedReference(format_reference(pinned), reference.kind)
    if isinstance(reference, DatastorePathReference):
        try:
            datastores.read_datastore(session, workspace, reference.datastore)
        except NotFound as exc:
            shown = describe_reference(text)
            raise NotFound(f"{what} {shown!r}: {exc.detail}", field=field) from None
        return PinnedReference(format_reference(reference), "datastore")
    assert isinstance(reference, UrlReference)
    return PinnedReference(format_reference(reference), "url")


def _permission(reference: Reference, write: bool) -> str | None:
    if isinstance(reference, DatastorePathReference):
        return "datastores/write" if write else "datastores/read"
    if isinstance(reference, AssetReference):
        return "data/read" if reference.kind == "data" else "models/read"
    return None


def locate(
    session: Session, platform: Platform, workspace: Workspace, reference: str, *, what: str
) -> Location:
    """Where a pinned reference points (no permission check: pin it first)."""

    def open_named(name: str) -> OpenDatastore:
        return datastores.open_named_datastore(session, platform, workspace, name)

    def read_asset_path(asset: AssetReference) -> str:
        return assets.read_asset_version(
            session, workspace, asset.kind, asset.name, version=asset.version, label=asset.label
        ).path

    try:
        return resolve_reference(
            reference,
            open_datastore_named=open_named,
            read_asset_path=read_asset_path,
            allowed_hosts=platform.settings.private_url_allowlist,
            timeout_seconds=platform.settings.storage_timeout_seconds,
        )
    except (Invalid, NotFound) as exc:
        raise type(exc)(f"{what}: {exc.detail}", code=exc.code) from None


def path_kind(location: Location) -> str | None:
    """``uri_file``, ``uri_folder``, or None when nothing is there."""
    with location.translate_errors():
        if not location.fs.exists(location.path):
            return None
        return "uri_folder" if location.fs.isdir(location.path) else "uri_file"


def is_local(location: Location) -> bool:
    """Whether the location is a folder or file of this machine (a local datastore)."""
    return isinstance(location.fs, LocalFileSystem)


def check_links_stay_inside(location: Location, what: str) -> None:
    """Refuse a local file or folder that holds a symbolic link leading out of its datastore.

    A job reads its input where it is on a local datastore, and a link there to
    ``/etc/passwd`` or to another workspace's folder would make it read what its creator
    may not. Such a link fails the job with a message that names it; its target is never
    opened.
    """
    if not is_local(location) or location.datastore is None:
        return
    root = Path(location.datastore.root).resolve()
    top = Path(location.path)
    candidates = [top] if not top.is_dir() or top.is_symlink() else []
    if not candidates:
        for folder, dirnames, filenames in os.walk(top):
            candidates.extend(Path(folder) / name for name in (*dirnames, *filenames))
    for path in candidates:
        if path.is_symlink() and not is_within(path.resolve(), root):
            shown = path.relative_to(root) if is_within(path.absolute(), root) else path.name
            raise Invalid(
                f"{what}: {shown} is a symbolic link that leads outside the datastore "
                f"{location.datastore.name!r}; Wharf does not follow it (remove the link)",
                code="link-outside-datastore",
            )


def copy_to_local(location: Location, target: Path) -> Path:
    """Copy a file or folder tree to ``target`` (created; replaced if it exists)."""
    if target.exists():
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    check_links_stay_inside(location, describe_reference(format_reference(location.reference)))
    with location.translate_errors():
        if is_local(location):
            source = Path(location.path)
            if source.is_dir():
                shutil.copytree(source, target, symlinks=False)
            else:
                shutil.copy2(source, target)
            return target
        if not location.fs.isdir(location.path):
            location.fs.get_file(location.path, str(target))
            return target
        root = location.path.rstrip("/")
        for name in location.fs.find(root):
            relative = name[len(root) :].lstrip("/") if name.startswith(root) else None
            if not relative:
                continue
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            location.fs.get_file(name, str(destination))
        target.mkdir(parents=True, exist_ok=True)
    return target


def upload_local(source: Path, location: Location) -> None:
    """Copy a local file, or a folder's files, to ``location`` (replacing what is there)."""
    with location.translate_errors():
        files = (
            [(source, location.path)]
            if source.is_file()
            else [
                (file, f"{location.path.rstrip('/')}/{file.relative_to(source).as_posix()}")
                for file in sorted(source.rglob("*"))
                if file.is_file()
            ]
        )
        for local, remote in files:
            if is_local(location):
                # By mode, not os.access: a server running as root may write anything.
                if Path(remote).exists() and not Path(remote).lstat().st_mode & stat.S_IWUSR:
                    raise Conflict(
                        f"{format_reference(location.reference)}: {Path(remote).name} is "
                        "read-only (a data asset or model version's file); write elsewhere",
                        code="immutable-version",
                    )
                Path(remote).parent.mkdir(parents=True, exist_ok=True)
                partial = Path(f"{remote}.partial")
                shutil.copyfile(local, partial)
                partial.replace(remote)  # a reader never sees half a file
            else:
                location.fs.put_file(str(local), remote)

"""What a git repository holds, read before an app is created from it (the import form shows
the builder it will use)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from wharf.build.detect import find_markers
from wharf.build.git import GitCredentials, GitUrl, choose_ref, credentials_env, list_files
from wharf.errors import Invalid
from wharf.services.apps import check_source_url, derive_app_name, inspect_with_credentials
from wharf.services.secrets import SecretBox
from wharf.services.source_secrets import open_source_secret
from wharf.storage.paths import find_path_problem
from wharf.store.models import Workspace


@dataclass(frozen=True)
class Detection:
    """How the repository would be built."""

    ref: str
    """The ref asked for, or the remote's default branch."""
    context_dir: str
    builder: str
    markers: tuple[str, ...]
    """The files that decided it (``requirements.txt``, ...)."""
    name: str | None
    """The app name the URL suggests (None when it suggests none)."""


def detect_repository(
    session: Session,
    box: SecretBox,
    workspace: Workspace,
    git_url: str,
    *,
    ref: str | None = None,
    context_dir: str = "",
    source_secret: str | None = None,
    allow_local_git: bool,
) -> Detection:
    """Read the repository (with the source secret's credentials) and say which builder its
    context dir gets; ``Invalid`` naming the field when it cannot be read or built."""
    url = check_source_url(git_url.strip(), allow_local=allow_local_git)
    folder = context_dir.strip().strip("/")
    problem = find_path_problem(folder)
    if problem:
        raise Invalid(f"context dir {folder!r} is not valid: {problem}", field="context_dir")
    credentials = open_source_secret(session, box, workspace, source_secret or None)
    chosen = choose_ref(url.url, inspect_with_credentials(url, credentials), ref or None)
    files = _files(url, chosen, folder, credentials)
    where = f"{folder or 'the top folder'} of {url.url} at {chosen!r}"
    try:
        markers = find_markers(files, where)
    except Invalid as exc:
        raise Invalid(exc.detail, field="context_dir" if folder else "git") from exc
    try:
        name: str | None = derive_app_name(url.url)
    except Invalid:
        name = None
    return Detection(chosen, folder, "python", markers, name)


def _files(url: GitUrl, ref: str, folder: str, credentials: GitCredentials | None) -> list[str]:
    with credentials_env(credentials) as env:
        try:
            return list_files(url, ref, folder, env=env)
        except Invalid as exc:
            if folder:
                hint = f"{exc.detail}: is {folder!r} a folder there?"
                raise Invalid(hint, field="context_dir") from exc
            raise Invalid(exc.detail, field="ref") from exc

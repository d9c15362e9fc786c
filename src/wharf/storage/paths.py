"""Rules for paths inside a datastore: relative, no ``..``, never out of the root.

References check a path when they are parsed and datastores check it again when they
resolve it, so both use these functions and report the same reasons.
"""

from __future__ import annotations

import os
from pathlib import Path

from wharf.errors import Invalid

MAX_PATH_LENGTH = 1024


def find_path_problem(path: str) -> str | None:
    """Why ``path`` is not a valid path inside a datastore, or None when it is.

    Valid: empty (the root), or ``/``-separated segments with an optional trailing ``/``
    (a folder). Refused: a leading ``/`` (absolute), ``.`` or ``..`` segments, empty
    segments (``a//b``), backslashes, non-printable characters, a trailing space.
    """
    if len(path) > MAX_PATH_LENGTH:
        return f"the path is longer than {MAX_PATH_LENGTH} characters"
    if not path.isprintable():
        return "the path contains a control or non-printable character"
    if "\\" in path:
        return "the path contains a backslash; separate folders with '/'"
    if path != path.rstrip():
        return "the path ends with a space"
    if path.startswith("/"):
        return "the path is absolute; give it relative to the datastore's root"
    body = path[:-1] if path.endswith("/") else path
    if not body:
        return None if not path else "the path is only '/'; leave it empty for the root"
    for segment in body.split("/"):
        if segment in ("..", "."):
            return f"the path contains a {segment!r} segment"
        if not segment:
            return "the path contains an empty segment ('//')"
    return None


def check_datastore_path(path: str) -> str:
    """``path`` if it is a valid path inside a datastore, else :class:`Invalid`."""
    problem = find_path_problem(path)
    if problem is not None:
        raise Invalid(f"path {path!r} is not valid: {problem}", code="invalid-path")
    return path


def join_under_root(root: str, path: str) -> str:
    """The full filesystem path of a checked relative ``path`` under ``root``."""
    relative = check_datastore_path(path).rstrip("/")
    base = root.rstrip("/") or "/"
    if not relative:
        return base
    return f"{base.rstrip('/')}/{relative}"


def is_within(child: Path, parent: Path) -> bool:
    """True when the already-resolved ``child`` is ``parent`` or lies below it."""
    return child == parent or parent in child.parents


def check_local_containment(root: Path, full_path: str, shown_path: str) -> None:
    """Refuse ``full_path`` when, with symbolic links resolved, it leaves the resolved ``root``.

    Resolving follows every symbolic link that exists now, so a link inside the root that
    points out of it is refused. A link created after this check is not seen: local
    datastores are written by Wharf and its operators, and the check is repeated on each
    resolve.
    """
    real = Path(os.path.realpath(full_path))
    if not is_within(real, root):
        raise Invalid(
            f"path {shown_path!r} leads outside the datastore's root (through a symbolic link)",
            code="invalid-path",
        )

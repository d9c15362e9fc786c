"""Reading YAML spec files (``-f data.yml``) and showing upload progress."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from wharf.cli._output import error_console
from wharf.sdk import InvalidRequestError
from wharf.sdk._storage import is_local_path, upload_size


def read_spec(path: Path) -> dict[str, Any]:
    """A YAML mapping from ``path``; relative local paths inside it are relative to the file."""
    try:
        loaded = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise InvalidRequestError(422, "invalid", f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise InvalidRequestError(422, "invalid", f"{path} is not valid YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise InvalidRequestError(422, "invalid", f"{path} must hold a YAML mapping")
    spec_path = loaded.get("path")
    if (
        isinstance(spec_path, str)
        and is_local_path(spec_path)
        and not Path(spec_path).is_absolute()
    ):
        loaded["path"] = str((path.parent / spec_path).resolve())
    return loaded


@contextmanager
def upload_progress(path: str) -> Iterator[Callable[[int], None] | None]:
    """A progress callback drawing a bar on a terminal; None elsewhere or for remote paths."""
    if not error_console.is_terminal or not is_local_path(path):
        yield None
        return
    columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=error_console, transient=True) as progress:
        task = progress.add_task("upload", total=upload_size(path))
        yield lambda sent: progress.advance(task, sent)

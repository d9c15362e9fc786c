"""A job's outputs, for download: one file, or a folder's listing and its files."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from wharf.errors import Conflict, NotFound
from wharf.services import job_storage, jobs
from wharf.services.platform import Platform
from wharf.states import JobStatus
from wharf.storage.paths import check_datastore_path
from wharf.storage.resolver import Location
from wharf.store.models import Workspace


@dataclass(frozen=True)
class OutputView:
    """Where an output is: a file to stream (``files`` is None), or a folder and its files."""

    location: Location
    reference: str
    files: list[str] | None = None


def open_output(
    session: Session,
    platform: Platform,
    workspace: Workspace,
    job_name: str,
    output: str,
    path: str | None = None,
) -> OutputView:
    """The output ``output`` of a Completed job; ``path`` picks one file of a folder output."""
    job = jobs.read_job(session, workspace, job_name)
    if output not in job.outputs:
        has = ", ".join(job.outputs) or "none"
        raise NotFound(f"job {job_name!r} has no output {output!r} (it has {has})")
    if job.status != JobStatus.COMPLETED:
        raise Conflict(f"job {job_name!r} is {job.status}: its outputs are there once Completed")
    reference: str = job.outputs[output]["path"]
    what = f"output {output!r}"
    location = job_storage.locate(session, platform, workspace, reference, what=what)
    kind = job_storage.path_kind(location)
    if kind is None:
        raise NotFound(f"{what} of job {job_name!r} was not written ({reference} does not exist)")
    if kind == "uri_file":
        return OutputView(location, reference)
    if path:
        check_datastore_path(path)
        inner = job_storage.locate(
            session, platform, workspace, reference.rstrip("/") + "/" + path, what=what
        )
        if job_storage.path_kind(inner) != "uri_file":
            raise NotFound(f"{what} of job {job_name!r} has no file {path!r}")
        return OutputView(inner, reference.rstrip("/") + "/" + path)
    root = location.path.rstrip("/")
    with location.translate_errors():
        found = location.fs.find(root)
    files = sorted(str(name)[len(root) + 1 :] for name in found if str(name).startswith(root + "/"))
    return OutputView(location, reference, files)

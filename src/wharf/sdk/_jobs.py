"""Batch jobs: ``client.jobs`` — list, get, stream (progress and log), cancel, download."""

from __future__ import annotations

import builtins
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from wharf.schemas.batch import Job
from wharf.sdk._errors import (
    NotFoundError,
    ServerUnavailableError,
    WharfError,
    error_from_problem,
)
from wharf.states import JobStatus

if TYPE_CHECKING:
    from wharf.sdk._client import Client

FINAL_STATES = tuple(status for status in JobStatus if status.ended)
"""States a job never leaves."""


def is_final(job: Job) -> bool:
    """Whether the job has ended (Completed, Failed or Canceled)."""
    return job.status.ended


LineHandler = Callable[[str], None]
JobHandler = Callable[[Job], None]


class JobOperations:
    """``client.jobs``: batch jobs of the workspace."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _path(self, suffix: str = "") -> str:
        return self._client.workspace_path(f"/jobs{suffix}")

    def list(
        self,
        *,
        endpoint_name: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        experiment_name: str | None = None,
        deployment_name: str | None = None,
        created_by: str | None = None,
        offset: int | None = None,
    ) -> builtins.list[Job]:
        """Jobs, newest first, optionally of one endpoint, deployment, experiment or creator,
        or in one state (without their ``failures``: ``get`` has them); ``offset`` and
        ``limit`` page through them (the server's default page is 20)."""
        given = {
            "endpoint": endpoint_name,
            "deployment": deployment_name,
            "experiment_name": experiment_name,
            "status": status,
            "created_by": created_by,
            "offset": offset,
            "limit": limit,
        }
        params = {k: v for k, v in given.items() if v is not None}
        found = self._client._request("GET", self._path(), params=params)
        return [Job.model_validate(j) for j in found]

    def get(self, name: str) -> Job:
        return Job.model_validate(self._client._request("GET", self._path(f"/{quote(name)}")))

    def cancel(self, name: str) -> Job:
        """Ask the job to stop; it goes CancelRequested, then Canceled."""
        return Job.model_validate(
            self._client._request("POST", self._path(f"/{quote(name)}/cancel"))
        )

    def logs(self, name: str, *, follow: bool = False) -> Iterator[str]:
        """The job's log, line by line; with ``follow`` it streams until the job ends."""
        path = self._path(f"/{quote(name)}/log")
        try:
            with self._client._http.stream(
                "GET", path, params={"follow": follow}, timeout=None
            ) as response:
                if not response.is_success:
                    response.read()
                    raise error_from_problem(
                        response.status_code, _json_or_none(response), response.reason_phrase
                    )
                yield from response.iter_lines()
        except httpx.TransportError as exc:
            raise ServerUnavailableError(
                f"lost the connection to {self._client.url}: {exc}"
            ) from exc

    def wait(self, name: str, *, timeout: float | None = None, poll: float = 0.5) -> Job:
        """Wait until the job ends; returns it whatever its final state."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get(name)
            if is_final(job):
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise WharfError(f"job {name} is still {job.status} after {timeout} s")
            time.sleep(poll)

    def stream(
        self,
        name: str,
        *,
        on_line: LineHandler | None = None,
        on_update: JobHandler | None = None,
        poll: float = 0.5,
        timeout: float | None = None,
    ) -> Job:
        """Follow a job until it ends: its log lines go to ``on_line`` (default: printed) and
        each new state of the job to ``on_update`` (default: a printed progress line when it
        changes). Returns the final job; a Failed job is returned, not raised."""
        print_line = on_line or _print
        show = on_update or _progress_printer()
        lines: queue.Queue[str | None] = queue.Queue()

        def read_log() -> None:
            try:
                for line in self.logs(name, follow=True):
                    lines.put(line)
            except WharfError:
                pass  # the job's state, polled below, decides; a lost log only loses lines
            finally:
                lines.put(None)

        reader = threading.Thread(target=read_log, name=f"wharf-job-log-{name}", daemon=True)
        reader.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        log_open = True
        next_poll = time.monotonic()
        while True:
            if time.monotonic() >= next_poll:
                job = self.get(name)
                show(job)
                if is_final(job):
                    break
                if deadline is not None and time.monotonic() > deadline:
                    raise WharfError(f"job {name} is still {job.status} after {timeout} s")
                next_poll = time.monotonic() + poll
            wait = max(0.0, next_poll - time.monotonic())
            if not log_open:
                time.sleep(wait)
                continue
            try:
                line = lines.get(timeout=wait)
            except queue.Empty:
                continue
            if line is None:
                log_open = False
            else:
                print_line(line)
        # The server ends the log stream once the job has ended: print what is still coming.
        reader.join(timeout=5)
        while not lines.empty():
            rest = lines.get_nowait()
            if rest is not None:
                print_line(rest)
        return job

    def download(
        self,
        name: str,
        *,
        output_name: str = "score",
        download_path: str | Path = ".",
        progress: Callable[[int], None] | None = None,
    ) -> Path:
        """Save an output of a Completed job under ``download_path`` and return where: the file
        of a ``uri_file`` output (``score`` is ``predictions.csv`` by default), or a folder named
        after the output holding a ``uri_folder`` output's files."""
        job = self.get(name)
        output = job.outputs.get(output_name)
        if output is None:
            known = ", ".join(sorted(job.outputs)) or "none"
            raise NotFoundError(
                404, "not-found", f"job {name} has no output {output_name!r} (it has: {known})"
            )
        target = Path(download_path)
        target.mkdir(parents=True, exist_ok=True)
        path = self._path(f"/{quote(name)}/outputs/{quote(output_name)}")
        if output.type == "uri_file":
            destination = target / PurePosixPath(output.path.rstrip("/")).name
            self._download_file(path, None, destination, progress)
            return destination
        folder = target / output_name
        for stored in self._client._request("GET", path):
            if stored.get("type", "file") != "file":
                continue
            relative = PurePosixPath(str(stored["path"]))
            if relative.is_absolute() or ".." in relative.parts:
                raise WharfError(f"the server listed an unsafe path {relative} in {output_name}")
            destination = folder.joinpath(*relative.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            self._download_file(path, {"path": str(relative)}, destination, progress)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _download_file(
        self,
        path: str,
        params: dict[str, str] | None,
        destination: Path,
        progress: Callable[[int], None] | None,
    ) -> None:
        partial = destination.with_name(destination.name + ".part")
        try:
            with self._client._http.stream("GET", path, params=params, timeout=None) as response:
                if not response.is_success:
                    response.read()
                    raise error_from_problem(
                        response.status_code, _json_or_none(response), response.reason_phrase
                    )
                with partial.open("wb") as handle:
                    for chunk in response.iter_bytes():
                        handle.write(chunk)
                        if progress:
                            progress(len(chunk))
            partial.replace(destination)
        except httpx.TransportError as exc:
            raise ServerUnavailableError(
                f"lost the connection to {self._client.url}: {exc}"
            ) from exc
        finally:
            partial.unlink(missing_ok=True)


def _json_or_none(response: httpx.Response) -> dict[str, Any] | None:
    try:
        found = response.json()
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _print(line: str) -> None:
    print(line, flush=True)


def describe_progress(job: Job) -> str:
    """One line: state and counts, as ``wharf job stream`` prints when not on a terminal."""
    p = job.progress
    parts = [f"{job.name}: {job.status}"]
    if p.mini_batches_total:
        parts.append(f"mini-batches {p.mini_batches_done}/{p.mini_batches_total}")
        if p.mini_batches_failed:
            parts.append(f"{p.mini_batches_failed} failed")
        if p.retries:
            parts.append(f"{p.retries} retried")
    if p.items_total:
        parts.append(f"items {p.items_done}/{p.items_total}")
    if job.error:
        parts.append(f"error: {job.error}")
    return ", ".join(parts)


def _progress_printer() -> JobHandler:
    last: list[str] = []

    def show(job: Job) -> None:
        line = describe_progress(job)
        if not last or last[-1] != line:
            last.append(line)
            print(line, flush=True)

    return show

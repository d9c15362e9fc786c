"""``wharf job``: batch jobs — list, show, stream (live progress and log), cancel, download."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from wharf.cli._output import (
    OutputFormat,
    OutputOption,
    WorkspaceOption,
    console,
    emit,
    emit_or_confirm,
    error_console,
    open_client,
    print_error,
    print_json,
    print_success,
)
from wharf.sdk import InvalidRequestError, Job
from wharf.sdk._jobs import JobHandler, LineHandler, describe_progress
from wharf.states import JobStatus

app = typer.Typer(help="Batch jobs: list, show, stream, cancel, download.", no_args_is_help=True)


def _progress(job: Job) -> str:
    p = job.progress
    if not p.mini_batches_total:
        return "-"
    failed = f", {p.mini_batches_failed} failed" if p.mini_batches_failed else ""
    return f"{p.mini_batches_done}/{p.mini_batches_total}{failed}"


JOB_COLUMNS = [
    ("NAME", lambda j: j.name),
    ("ENDPOINT", lambda j: j.endpoint),
    ("DEPLOYMENT", lambda j: j.deployment),
    ("STATUS", lambda j: j.status),
    ("MINI-BATCHES", _progress),
    ("EXPERIMENT", lambda j: j.experiment_name),
    ("CREATED", lambda j: j.created_at),
    ("BY", lambda j: j.created_by),
    (
        "DURATION",
        lambda j: f"{j.duration_seconds:.1f}s" if j.duration_seconds is not None else None,
    ),
]

JobArgument = Annotated[str | None, typer.Argument(metavar="[JOB]", help="the job's name")]
JobOption = Annotated[str | None, typer.Option("--name", "-n", help="the job's name")]


def _job_name(argument: str | None, option: str | None) -> str:
    name = argument or option
    if not name:
        raise InvalidRequestError(422, "invalid", "give the job's name (JOB or --name)")
    return name


@app.command("list")
def list_jobs(
    endpoint_name: Annotated[
        str | None, typer.Option("--endpoint-name", "-e", help="only this endpoint's jobs")
    ] = None,
    experiment_name: Annotated[
        str | None, typer.Option("--experiment-name", help="only this experiment's jobs")
    ] = None,
    deployment_name: Annotated[
        str | None, typer.Option("--deployment-name", "-d", help="only this deployment's jobs")
    ] = None,
    created_by: Annotated[
        str | None, typer.Option("--created-by", help="only jobs this user created")
    ] = None,
    status: Annotated[str | None, typer.Option(help="only jobs in this state")] = None,
    limit: Annotated[int, typer.Option(help="at most this many")] = 100,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """List jobs, newest first."""
    with open_client(workspace) as client:
        jobs = client.jobs.list(
            endpoint_name=endpoint_name,
            experiment_name=experiment_name,
            deployment_name=deployment_name,
            created_by=created_by,
            status=status,
            limit=limit,
        )
    emit(jobs, output, JOB_COLUMNS)


@app.command("show")
def show_job(
    job: JobArgument = None,
    name: JobOption = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Show a job: state, progress, inputs, outputs, and the root cause when it failed."""
    job_name = _job_name(job, name)
    with open_client(workspace) as client:
        found = client.jobs.get(job_name)
    emit(found, output, JOB_COLUMNS)
    if output is OutputFormat.table:
        _print_details(found)


def _print_details(job: Job) -> None:
    p = job.progress
    console.print(
        f"items: {p.items_done}/{p.items_total} done, {p.items_failed} failed; "
        f"rows written: {p.rows_written}; retries: {p.retries}",
        highlight=False,
    )
    for step in job.steps:
        error = f": {step['error']}" if step.get("error") else ""
        console.print(
            f"step {step['name']}: {step['status']}{error}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    for name, given in job.inputs.items():
        shown = given.reference or given.path or repr(given.value)
        console.print(
            f"input {name} ({given.type}): {shown}", highlight=False, markup=False, soft_wrap=True
        )
    for name, written in job.outputs.items():
        console.print(
            f"output {name} ({written.type}): {written.path}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if job.error:
        console.print(f"[red]error:[/red] {escape(job.error)}", highlight=False, soft_wrap=True)
    for failure in job.failures:
        console.print(
            f"mini-batch {failure.mini_batch} ({failure.label}): {failure.root_cause}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


@contextmanager
def _live_handlers(follow_log: bool) -> Iterator[tuple[LineHandler | None, JobHandler | None]]:
    """A live progress bar with log lines above it on a terminal; plain lines elsewhere."""
    if not error_console.is_terminal:
        yield (None if follow_log else (lambda line: None)), None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("mini-batches {task.fields[extra]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=error_console, transient=False) as bar:
        task = bar.add_task(JobStatus.QUEUED, total=None, extra="")

        def on_update(job: Job) -> None:
            p = job.progress
            failed = f"{p.mini_batches_failed} failed" if p.mini_batches_failed else ""
            bar.update(
                task,
                description=job.status,
                total=p.mini_batches_total or None,
                completed=p.mini_batches_done + p.mini_batches_failed,
                extra=failed,
            )

        def on_line(line: str) -> None:
            if follow_log:
                bar.console.print(line, highlight=False, markup=False, soft_wrap=True)

        yield on_line, on_update


@app.command("stream")
def stream_job(
    job: JobArgument = None,
    name: JobOption = None,
    log: Annotated[bool, typer.Option(help="print the job's log as it grows")] = True,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Follow a job until it ends: a live progress bar and its log on a terminal, plain lines
    elsewhere. Exits non-zero when the job Failed or was Canceled."""
    job_name = _job_name(job, name)
    with open_client(workspace) as client, _live_handlers(log) as (on_line, on_update):
        if output is OutputFormat.json:
            final = client.jobs.stream(
                job_name, on_line=lambda line: None, on_update=lambda j: None
            )
        else:
            final = client.jobs.stream(job_name, on_line=on_line, on_update=on_update)
    if output is OutputFormat.json:
        emit(final, output, JOB_COLUMNS)
    elif error_console.is_terminal:
        typer.echo(describe_progress(final))
    if final.status is JobStatus.COMPLETED:
        if output is OutputFormat.table:
            print_success(f"job {final.name} Completed")
        return
    print_error(f"job {final.name} {final.status}" + (f": {final.error}" if final.error else ""))
    raise typer.Exit(1)


@app.command("cancel")
def cancel_job(
    job: JobArgument = None,
    name: JobOption = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Cancel a job: its workers stop within seconds."""
    job_name = _job_name(job, name)
    with open_client(workspace) as client:
        canceled = client.jobs.cancel(job_name)
    emit_or_confirm(canceled, output, JOB_COLUMNS, f"job {canceled.name}: {canceled.status}")


@app.command("download")
def download_output(
    job: JobArgument = None,
    name: JobOption = None,
    output_name: Annotated[
        str, typer.Option("--output-name", help="the output to fetch")
    ] = "score",
    path: Annotated[
        Path,
        typer.Option("--path", "--download-path", "-p", help="folder to save into"),
    ] = Path("."),
    workspace: WorkspaceOption = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Download an output of a Completed job (score: the predictions file). Prints where it
    was saved: the file of a uri_file output, or a folder named after a uri_folder output."""
    job_name = _job_name(job, name)
    with open_client(workspace) as client:
        saved = client.jobs.download(job_name, output_name=output_name, download_path=path)
    if output is OutputFormat.json:
        print_json({"output_name": output_name, "path": str(saved)})
        return
    print_success(f"{output_name} saved to {saved}")
    typer.echo(str(saved))

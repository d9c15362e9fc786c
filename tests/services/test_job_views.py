"""What the job pages read: filtered pages of jobs, progress, failures and their root cause,
output previews, and the Create job form read into an invoke."""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wharf.batch.joblog import JobLog
from wharf.batch.state import Failure
from wharf.config import Settings
from wharf.errors import Conflict, Invalid
from wharf.services import invoke_form, job_failures, job_outputs, jobs, workspaces
from wharf.services.platform import Platform, start_platform
from wharf.states import JobStatus
from wharf.store.models import BatchDeployment, Job, JobMiniBatch

FAILURE = Failure(
    "error", "run()", "ValueError", "bad row", "Traceback ...\nValueError: bad row", None, ()
)


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    platform = start_platform(settings)
    yield platform
    platform.close()


def add_job(platform: Platform, name: str, **values: Any) -> None:
    fields: dict[str, Any] = {
        "endpoint": "heart",
        "deployment": "d1",
        "kind": "scoring_script",
        "status": JobStatus.COMPLETED,
        "experiment_name": "heart",
        "created_by": "admin",
    } | values
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, "default")
        session.add(Job(workspace_id=workspace.id, name=name, **fields))


def test_jobs_are_listed_a_page_at_a_time_with_every_filter_and_a_total(
    platform: Platform,
) -> None:
    for n in range(7):
        add_job(
            platform,
            f"job-{n}",
            endpoint="heart" if n < 5 else "tools",
            deployment="d2" if n % 2 else "d1",
            experiment_name="nightly" if n == 3 else "heart",
            status=JobStatus.FAILED if n == 4 else JobStatus.COMPLETED,
            created_by="dana" if n == 6 else "admin",
        )
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, "default")

        def names(where: jobs.JobFilter, **page: int) -> tuple[list[str], int]:
            found = jobs.list_jobs(session, workspace.name, where, **page)
            return [job.name for job in found.jobs], found.total

        assert names(jobs.JobFilter(), offset=2, limit=3) == (["job-4", "job-3", "job-2"], 7)
        assert names(jobs.JobFilter(endpoint="heart", deployment="d2")) == (
            ["job-3", "job-1"],
            2,
        )
        assert names(jobs.JobFilter(experiment_name="nightly")) == (["job-3"], 1)
        assert names(jobs.JobFilter(status=JobStatus.FAILED)) == (["job-4"], 1)
        assert names(jobs.JobFilter(created_by="dana")) == (["job-6"], 1)
        assert names(jobs.JobFilter(endpoint="none")) == ([], 0)
        choices = jobs.list_job_filter_choices(session, workspace)
    assert choices.endpoints == ["heart", "tools"]
    assert choices.deployments == ["d1", "d2"]
    assert choices.experiment_names == ["heart", "nightly"]
    assert choices.created_by == ["admin", "dana"]


def test_progress_gives_the_shares_a_bar_draws(platform: Platform) -> None:
    add_job(
        platform,
        "running",
        status=JobStatus.RUNNING,
        progress={
            "mini_batches_total": 8,
            "mini_batches_done": 3,
            "mini_batches_failed": 1,
            "mini_batches_running": 2,
            "rows_written": 9,
            "unknown_later_field": 5,
        },
    )
    add_job(platform, "queued", status=JobStatus.QUEUED, progress={})
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, "default")
        running = jobs.read_progress(jobs.read_job(session, workspace, "running"))
        queued = jobs.read_progress(jobs.read_job(session, workspace, "queued"))
    assert (running.percent_done, running.percent_failed, running.ended) == (37, 12, False)
    assert running.describe() == "3 of 8 mini-batches done, 1 failed, 2 running; 9 rows written"
    assert (queued.percent_done, queued.describe()) == (0, "not planned yet")


def test_a_failed_job_names_its_root_cause_with_the_first_failed_batch_traceback(
    platform: Platform,
) -> None:
    add_job(platform, "bad", status=JobStatus.FAILED, error="run() raised ValueError: bad row")
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, "default")
        job = jobs.read_job(session, workspace, "bad")
        for batch_id, status in ((0, "done"), (1, "failed"), (2, "failed")):
            session.add(
                JobMiniBatch(
                    job_id=job.id,
                    batch_id=batch_id,
                    items=[
                        {"path": "/in/x", "name": f"f-{batch_id}.csv", "start": None, "stop": None}
                    ],
                    status=status,
                    last_failure=None if status == "done" else FAILURE.to_dict(),
                )
            )
        session.flush()
        failed = job_failures.list_failed_batches(session, job)
        cause = job_failures.read_root_cause(session, platform.settings, workspace, job)
    assert [(f.mini_batch, f.items) for f in failed] == [(2, ["f-1.csv"]), (3, ["f-2.csv"])]
    assert failed[0].root_cause == "run() raised ValueError: bad row on f-1.csv"
    assert cause == job_failures.RootCause(
        "run() raised ValueError: bad row", FAILURE.traceback, "mini-batch 2"
    )


def test_a_job_whose_workers_never_started_takes_the_traceback_from_its_log(
    platform: Platform,
) -> None:
    error = "init() raised ImportError: No module named 'sklearn'"
    add_job(platform, "noinit", status=JobStatus.FAILED, error=error)
    add_job(platform, "fine")
    traceback = (
        "Traceback (most recent call last):\n"
        '  File "score.py", line 1, in <module>\n'
        "    import sklearn\n"
        "ImportError: No module named 'sklearn'"
    )
    log = JobLog(jobs.job_log_path(platform.settings, "default", "noinit"))
    log.write("starting 1 worker processes")
    log.write(f"a worker could not start: {error}\n{traceback}")
    log.write(f"job failed: {error}")
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, "default")
        cause = job_failures.read_root_cause(
            session, platform.settings, workspace, jobs.read_job(session, workspace, "noinit")
        )
        fine = jobs.read_job(session, workspace, "fine")
        assert job_failures.read_root_cause(session, platform.settings, workspace, fine) is None
    assert cause == job_failures.RootCause(error, traceback, "the job log")


def write_output(platform: Platform, job: str, name: str, data: bytes) -> None:
    folder = platform.settings.default_datastore_dir / "default" / "out"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    add_job(
        platform,
        job,
        outputs={
            "score": {"type": "uri_file", "path": f"wharf://datastores/default/paths/out/{name}"}
        },
    )


def preview(platform: Platform, job: str, **bounds: int) -> job_outputs.OutputPreview:
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, "default")
        return job_outputs.preview_output(session, platform, workspace, job, "score", **bounds)


def test_a_preview_shows_the_first_rows_of_csv_and_json_lines_within_a_byte_bound(
    platform: Platform,
) -> None:
    lines = "".join(f"{n},{n % 2 == 0}\n" for n in range(200))
    write_output(platform, "csv", "p.csv", ("id,old\n" + lines).encode())
    shown = preview(platform, "csv")
    assert (shown.format, shown.columns, shown.truncated) == ("csv", ["id", "old"], True)
    assert shown.rows[:2] == [["0", "True"], ["1", "False"]]
    assert len(shown.rows) == 50
    bounded = preview(platform, "csv", max_bytes=40)
    assert [row[0] for row in bounded.rows] == ["0", "1", "2", "3"]  # whole lines only
    assert bounded.truncated
    short = b"id,old\n1,True\n"
    write_output(platform, "small", "s.csv", short)
    assert preview(platform, "small").rows == [["1", "True"]]
    assert not preview(platform, "small").truncated
    records = [{"id": 1, "score": 0.5}, {"id": 2, "label": "x"}]
    write_output(
        platform, "jsonl", "p.jsonl", "".join(json.dumps(r) + "\n" for r in records).encode()
    )
    shown = preview(platform, "jsonl")
    assert shown.columns == ["id", "score", "label"]
    assert shown.rows == [["1", "0.5", ""], ["2", "", "x"]]
    write_output(platform, "text", "notes.txt", b"hello")
    assert preview(platform, "text").unavailable is not None


def test_a_preview_of_a_job_that_has_not_completed_is_refused(platform: Platform) -> None:
    add_job(
        platform,
        "running",
        status=JobStatus.RUNNING,
        outputs={"score": {"type": "uri_file", "path": "wharf://datastores/default/paths/x.csv"}},
    )
    with pytest.raises(Conflict, match="Completed"):
        preview(platform, "running")


def deployment(**values: Any) -> BatchDeployment:
    return BatchDeployment(name="d1", folder="/x", code_reference="", **values)


MODEL = deployment(
    type="model",
    kind="scoring_script",
    settings={"mini_batch_size": 10, "retry_settings": {"max_retries": 3, "timeout": 30}},
)
COMPONENT = deployment(
    type="component",
    kind="component",
    component={
        "inputs": {
            "data": {"type": "uri_folder"},
            "times": {"type": "integer", "default": 2},
            "note": {"type": "string", "optional": True},
        },
        "outputs": {"summary": {"type": "uri_file"}},
    },
)


def test_the_form_asks_for_what_the_deployment_declares() -> None:
    model = invoke_form.describe_invoke(MODEL)
    assert [(s.name, s.type, s.is_data) for s in model.inputs] == [("input", None, True)]
    assert [(s.name, s.type) for s in model.outputs] == [("score", "uri_file")]
    assert [(o.field, o.current) for o in model.overrides][:4] == [
        ("mini_batch_size", 10),
        ("instance_count", None),
        ("retry_settings.max_retries", 3),
        ("retry_settings.timeout", 30),
    ]
    component = invoke_form.describe_invoke(COMPONENT)
    assert [(s.name, s.type, s.is_data) for s in component.inputs] == [
        ("data", "uri_folder", True),
        ("times", "integer", False),
        ("note", "string", False),
    ]
    assert component.overrides == []


def test_a_posted_form_becomes_the_invoke_it_asks_for() -> None:
    shape = invoke_form.describe_invoke(MODEL)
    spec = invoke_form.read_invoke_form(
        {
            "deployment": "ignored: the shape's",
            "mini_batch_size": " 5 ",
            "retry_settings.timeout": "60",
            "error_threshold": "",
            "inputs.input.source": "asset",
            "inputs.input.asset": "heart",
            "inputs.input.version": "3",
            "outputs.score.destination": "datastore",
            "outputs.score.datastore": "lake",
            "outputs.score.path": "/runs/x.csv",
            "experiment_name": "nightly",
        },
        shape,
    )
    assert spec.deployment == "d1"
    assert spec.params_override == {"mini_batch_size": "5", "retry_settings.timeout": "60"}
    assert spec.inputs["input"].path == "data:heart:3"
    assert spec.outputs["score"].path == "wharf://datastores/lake/paths/runs/x.csv"
    assert spec.experiment_name == "nightly"
    latest = invoke_form.read_invoke_form(
        {"inputs.input.source": "asset", "inputs.input.asset": "heart"}, shape
    )
    assert latest.inputs["input"].path == "data:heart@latest"
    assert latest.outputs == {}
    assert latest.experiment_name is None
    typed = invoke_form.read_invoke_form(
        {"inputs.input.source": "reference", "inputs.input.reference": "azureml:heart:1"}, shape
    )
    assert typed.inputs["input"].path == "azureml:heart:1"
    component = invoke_form.describe_invoke(COMPONENT)
    spec = invoke_form.read_invoke_form(
        {
            "inputs.data.source": "datastore",
            "inputs.data.path": "heart/",
            "inputs.times.value": "4",
            "inputs.note.value": "",
            "mini_batch_size": "5",
        },
        component,
    )
    assert spec.inputs["data"].path == "wharf://datastores/default/paths/heart/"
    assert spec.inputs["times"].value == "4"
    assert "note" not in spec.inputs
    assert spec.params_override == {}


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({}, "inputs.input", "pick a data asset"),
        ({"inputs.input.source": "datastore"}, "inputs.input", "give a path"),
        ({"inputs.input.source": "reference"}, "inputs.input", "type a reference"),
        ({"inputs.input.source": "literal", "inputs.input.value": "x"}, "inputs.input", "data"),
        (
            {"inputs.input.asset": "h", "outputs.score.destination": "datastore"},
            "outputs.score",
            "give a path",
        ),
    ],
)
def test_a_form_missing_what_it_needs_names_the_field(
    form: dict[str, str], field: str, message: str
) -> None:
    with pytest.raises(Invalid, match=message) as raised:
        invoke_form.read_invoke_form(form, invoke_form.describe_invoke(MODEL))
    assert raised.value.extra["field"] == field


def test_a_parquet_preview_needs_pyarrow_on_the_server(platform: Platform, tmp_path: Path) -> None:
    if importlib.util.find_spec("pyarrow") is None:
        write_output(platform, "pq", "p.parquet", b"PAR1 not read without pyarrow")
        shown = preview(platform, "pq")
        assert shown.format == "parquet"
        assert shown.unavailable is not None
        assert "pyarrow" in shown.unavailable
        return
    parquet: Any = importlib.import_module("pyarrow.parquet")
    table: Any = importlib.import_module("pyarrow").table({"id": list(range(80)), "x": ["a"] * 80})
    parquet.write_table(table, tmp_path / "p.parquet")
    write_output(platform, "pq", "p.parquet", (tmp_path / "p.parquet").read_bytes())
    shown = preview(platform, "pq")
    assert (shown.columns, shown.rows[0], len(shown.rows), shown.truncated) == (
        ["id", "x"],
        ["0", "a"],
        50,
        True,
    )

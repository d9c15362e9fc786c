"""The batch pages of the console: endpoints, the Create job form, jobs (list, live progress,
root cause, failed mini-batches, output download and preview), with real jobs run by the
engine; what a reader sees and what the server refuses."""

from __future__ import annotations

import csv
import io
import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.batchfiles import set_up_heart_endpoints, wait_for_job
from tests.conftest import Server
from tests.console.browsing import csrf_token, signed_in
from wharf.services import batch_endpoints, jobs, workspaces
from wharf.states import JobStatus
from wharf.store.models import Job

pytestmark = pytest.mark.timeout(240)

FILES = 6
WS = "/w/default"
API = "/api/v1/workspaces/default"


@pytest.fixture
def batch(server: Server, tmp_path: Path) -> Server:
    """``heart`` (``d1`` default, ``d2``) and ``tools`` (component ``copy``), data ``heart``."""
    set_up_heart_endpoints(server.http, server.admin_token, tmp_path, FILES)
    return server


def api(server: Server, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    return server.http.request(method, f"{API}{path}", headers=headers, **kwargs)


def invoke(server: Server, **body: Any) -> str:
    body.setdefault("inputs", {"x": {"type": "uri_folder", "path": "data:heart:1"}})
    answer = api(server, "POST", "/batch-endpoints/heart/jobs", json=body)
    assert answer.status_code == 201, answer.text
    name: str = answer.json()["name"]
    return name


def text_of(page: str) -> str:
    """The page's visible text, tags dropped and spaces squeezed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())


def post(client: httpx.Client, url: str, data: dict[str, str], page: str) -> httpx.Response:
    return client.post(url, data={"csrf_token": csrf_token(page), **data})


def test_the_endpoint_pages_list_deployments_mark_the_default_and_set_another(
    batch: Server,
) -> None:
    with signed_in(batch, "olga", "owner") as client:
        listing = client.get(f"{WS}/batch-endpoints")
        assert listing.status_code == 200
        assert f'href="{WS}/batch-endpoints/heart"' in listing.text
        assert "d1, d2" in text_of(listing.text)
        assert f'type="application/json" href="{API}/batch-endpoints"' in listing.text
        page = client.get(f"{WS}/batch-endpoints/heart")
        assert page.status_code == 200
        shown = text_of(page.text)
        assert "d1 default" in shown
        assert "Set default" in shown
        assert "Create job" in shown
        assert f"{API}/batch-endpoints/heart/jobs" in shown  # the invoke URL to copy
        moved = post(client, f"{WS}/batch-endpoints/heart/default", {"deployment": "d2"}, page.text)
        assert moved.status_code == 303
        assert "d2 default" in text_of(client.get(moved.headers["location"]).text)
    with batch.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, "default")
        assert batch_endpoints.read_endpoint(session, workspace, "heart").default_deployment == "d2"


def test_a_reader_sees_no_actions_and_forged_posts_are_refused(batch: Server) -> None:
    name = invoke(batch, params_override={"environment_variables": {"SLEEP": "30"}})
    with signed_in(batch, "rita", "reader") as client:
        page = client.get(f"{WS}/batch-endpoints/heart")
        assert page.status_code == 200
        for action in ("Create job", "Set default"):
            assert action not in page.text
        job_page = client.get(f"{WS}/jobs/{name}")
        assert job_page.status_code == 200
        assert "Cancel job" not in job_page.text
        assert f'data-sse-progress="{WS}/jobs/{name}/progress"' in job_page.text  # live
        assert f'data-sse-log="{WS}/jobs/{name}/log"' in job_page.text
        assert client.get(f"{WS}/batch-endpoints/heart/jobs/new").status_code == 403
        token = csrf_token(page.text)  # her own, valid token: the permission still refuses
        forged = [
            (f"{WS}/batch-endpoints/heart/default", {"deployment": "d2"}),
            (f"{WS}/batch-endpoints/heart/jobs", {"inputs.input.asset": "heart"}),
            (f"{WS}/jobs/{name}/cancel", {}),
        ]
        for url, data in forged:
            assert client.post(url, data={"csrf_token": token, **data}).status_code == 403, url
            assert client.post(url, data=data).status_code == 403, url  # no CSRF token
    with batch.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, "default")
        assert batch_endpoints.read_endpoint(session, workspace, "heart").default_deployment == "d1"
        assert [j.name for j in jobs.list_jobs(session, workspace.name).jobs] == [name]
    with signed_in(batch, "olga", "owner") as owner:
        without_token = owner.post(f"{WS}/jobs/{name}/cancel", data={})
        assert without_token.status_code == 403
        page = owner.get(f"{WS}/jobs/{name}")
        assert "Cancel job" in page.text
        canceled = post(owner, f"{WS}/jobs/{name}/cancel", {}, page.text)
        assert canceled.status_code == 303
    assert wait_for_job(batch.http, batch.admin_token, name)["status"] == "Canceled"


def test_progress_streams_live_while_the_job_runs(batch: Server) -> None:
    name = invoke(
        batch,
        params_override={"mini_batch_size": 1, "environment_variables": {"SLEEP": "1"}},
    )
    with signed_in(batch, "rita", "reader") as client:
        stream = client.get(f"{WS}/jobs/{name}/progress")  # answered once the job has ended
    events = re.findall(r"event: (\w+)\ndata: (.*)\n", stream.text)
    assert events[-1] == ("end", "Completed")
    progress = [json.loads(data) for event, data in events if event == "progress"]
    assert progress[0]["status"] != "Completed"  # it began while the job had not ended
    done = [p["mini_batches_done"] for p in progress]
    assert done == sorted(done)
    assert progress[-1]["mini_batches_done"] == FILES
    assert progress[-1]["text"] == f"{FILES} of {FILES} mini-batches done; {FILES * 3} rows written"


def test_the_create_job_form_follows_azure_order_and_runs_a_job(batch: Server) -> None:
    with signed_in(batch, "dana", "data-scientist") as client:
        form = client.get(f"{WS}/batch-endpoints/heart/jobs/new")
        assert form.status_code == 200
        shown = text_of(form.text)
        order = ["Deployment", "Settings for this job", "Mini-batch size", "Instance count",
                 "Max retries", "Timeout", "Error threshold", "Output file name", "Inputs",
                 "Outputs", "Experiment name"]  # fmt: skip
        positions = [shown.index(label) for label in order]
        assert positions == sorted(positions), shown
        assert 'placeholder="3"' in form.text  # d1's mini_batch_size
        created = post(
            client,
            f"{WS}/batch-endpoints/heart/jobs",
            {
                "deployment": "d1",
                "mini_batch_size": "2",
                "inputs.input.source": "asset",
                "inputs.input.asset": "heart",
                "inputs.input.version": "latest",
                "outputs.score.destination": "datastore",
                "outputs.score.datastore": "default",
                "outputs.score.path": "runs/console.csv",
                "experiment_name": "from-console",
            },
            form.text,
        )
        assert created.status_code == 303, created.text
        name = created.headers["location"].rsplit("/", 1)[-1]
        done = wait_for_job(batch.http, batch.admin_token, name)
        assert done["status"] == "Completed", done
        assert done["created_by"] == "dana"
        assert done["experiment_name"] == "from-console"
        assert done["settings"]["mini_batch_size"] == 2
        assert done["progress"]["mini_batches_total"] == FILES // 2
        assert done["outputs"]["score"]["path"].endswith("runs/console.csv")
        page = client.get(created.headers["location"])
        assert page.status_code == 200
        shown = text_of(page.text)
        assert f"{FILES // 2} of {FILES // 2} mini-batches done; {FILES * 3} rows written" in shown
        assert "data:heart:1" in shown
        assert "Why it failed" not in shown
        assert "init in" in page.text  # the log
        assert f"First {FILES * 3} rows of console.csv" in shown
        downloaded = client.get(f"{WS}/jobs/{name}/outputs/score")
        assert downloaded.status_code == 200
        assert downloaded.content == api(batch, "GET", f"/jobs/{name}/outputs/score").content
        rows = list(csv.DictReader(io.StringIO(downloaded.text)))
        assert len(rows) == FILES * 3
        assert rows[0]["id"] in shown


def test_create_job_errors_stand_next_to_their_field(batch: Server) -> None:
    with signed_in(batch, "dana", "data-scientist") as client:
        form = client.get(f"{WS}/batch-endpoints/heart/jobs/new").text
        cases = [
            ({}, "inputs.input", "pick a data asset"),
            ({"inputs.input.asset": "heart", "mini_batch_size": "0"}, "mini_batch_size",
             "greater than or equal to 1"),
            ({"inputs.input.asset": "nope"}, "inputs.input", "nope"),
            ({"inputs.input.asset": "heart", "outputs.score.destination": "datastore",
              "outputs.score.path": "heart/heart-000.csv"}, "outputs.score", "written once"),
            ({"inputs.input.asset": "heart", "experiment_name": "x" * 300}, "experiment_name",
             "experiment_name"),
        ]  # fmt: skip
        for data, field, message in cases:
            answer = post(client, f"{WS}/batch-endpoints/heart/jobs", data, form)
            assert answer.status_code in (404, 409, 422), (data, answer.status_code)
            error = re.search(rf'id="e-{re.escape(field)}"[^>]*>([^<]*)<', answer.text)
            assert error, (field, answer.text)
            assert message in unescape(error.group(1)), error.group(1)
            for key, value in data.items():
                if key != "inputs.input.asset" and len(value) < 50:
                    assert f'value="{value}"' in answer.text  # what was typed stays
    with batch.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, "default")
        assert jobs.list_jobs(session, workspace.name).total == 0


def test_a_component_deployment_asks_for_its_declared_inputs(batch: Server) -> None:
    with signed_in(batch, "dana", "data-scientist") as client:
        form = client.get(f"{WS}/batch-endpoints/tools/jobs/new", params={"deployment": "copy"})
        assert form.status_code == 200
        for name in ("inputs.data.asset", "inputs.greeting.value", "inputs.times.value"):
            assert f'name="{name}"' in form.text
        for output in ("outputs.summary.destination", "outputs.copies.destination"):
            assert f'name="{output}"' in form.text
        assert "Mini-batch size" not in form.text
        created = post(
            client,
            f"{WS}/batch-endpoints/tools/jobs",
            {
                "deployment": "copy",
                "inputs.data.source": "datastore",
                "inputs.data.datastore": "default",
                "inputs.data.path": "heart/",
                "inputs.greeting.value": "hello",
                "inputs.times.value": "2",
            },
            form.text,
        )
        assert created.status_code == 303, created.text
        name = created.headers["location"].rsplit("/", 1)[-1]
        assert wait_for_job(batch.http, batch.admin_token, name)["status"] == "Completed"
        page = client.get(created.headers["location"]).text
        assert "only CSV, JSON lines and Parquet files have a preview" in text_of(page)
        files = client.get(f"{WS}/jobs/{name}/outputs/copies")
        assert files.status_code == 200
        assert "heart-000.csv" in files.text
        one = client.get(f"{WS}/jobs/{name}/outputs/copies", params={"path": "heart-000.csv"})
        assert one.text.startswith("id,age")
        summary = client.get(f"{WS}/jobs/{name}/outputs/summary")
        assert summary.text == "hello x2: 6 files\n"


def test_a_failed_job_shows_its_root_cause_first_and_each_failed_mini_batch(
    batch: Server,
) -> None:
    name = invoke(
        batch,
        params_override={
            "mini_batch_size": 1,
            "retry_settings.max_retries": 0,
            "environment_variables": {"FAIL_ON": "heart-002.csv"},
            "error_threshold": 0,
        },
    )
    failed = wait_for_job(batch.http, batch.admin_token, name)
    assert failed["status"] == "Failed"
    with signed_in(batch, "rita", "reader") as client:
        page = client.get(f"{WS}/jobs/{name}")
    assert page.status_code == 200
    shown = text_of(page.text)
    cause = shown.index("Why it failed")
    assert cause < shown.index("Progress") < shown.index("Failed mini-batches")
    assert shown.index(failed["error"]) < shown.index("Progress")
    assert shown.index("ValueError: cannot score heart-002.csv") < shown.index("Progress")
    assert "Traceback (from mini-batch 3)" in shown
    assert "Mini-batch 3: run() raised ValueError: cannot score heart-002.csv" in shown
    assert "Items: heart-002.csv" in shown
    assert "Download" not in shown


def test_progress_and_log_stream_as_server_sent_events(batch: Server) -> None:
    name = invoke(batch)
    wait_for_job(batch.http, batch.admin_token, name)
    with signed_in(batch, "rita", "reader") as client:
        progress = client.get(f"{WS}/jobs/{name}/progress")
        log = client.get(f"{WS}/jobs/{name}/log")
    assert progress.headers["content-type"].startswith("text/event-stream")
    events = re.findall(r"event: (\w+)\ndata: (.*)\n", progress.text)
    assert [event for event, _ in events] == ["progress", "end"]
    assert '"mini_batches_done": 2' in events[0][1]
    assert '"percent_done": 100' in events[0][1]
    assert events[1][1] == "Completed"
    assert log.text.startswith("event: line\n")
    lines = re.findall(r"^data: (.*)$", log.text, re.MULTILINE)
    assert any("init in" in line for line in lines)
    assert any("job completed" in line for line in lines)
    assert log.text.rstrip().endswith("data: The job has ended; its whole log is above.")


def add_jobs(server: Server, count: int, **values: Any) -> None:
    with server.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, "default")
        for n in range(count):
            fields: dict[str, Any] = {
                "endpoint": "heart",
                "deployment": "d1",
                "kind": "scoring_script",
                "status": JobStatus.COMPLETED,
                "experiment_name": "heart",
                "created_by": "admin",
            } | values
            session.add(
                Job(workspace_id=workspace.id, name=f"{fields['deployment']}-{n:02d}", **fields)
            )


def test_the_job_list_filters_and_pages_on_the_server(batch: Server) -> None:
    add_jobs(batch, 27)
    add_jobs(batch, 3, deployment="d2", status=JobStatus.FAILED, created_by="dana")
    with signed_in(batch, "rita", "reader") as client:
        first = client.get(f"{WS}/jobs")
        assert first.status_code == 200
        assert "1 to 25 of 30" in text_of(first.text)
        assert first.text.count(f'href="{WS}/jobs/') == 25
        second = client.get(f"{WS}/jobs", params={"page": 2})
        assert "26 to 30 of 30" in text_of(second.text)
        assert "d1-00" in second.text
        filtered = client.get(
            f"{WS}/jobs", params={"deployment": "d2", "status": "Failed", "created_by": "dana"}
        )
        names = re.findall(rf'href="{WS}/jobs/([^"]+)"', filtered.text)
        assert names == ["d2-02", "d2-01", "d2-00"]
        assert '<option value="d2" selected>' in filtered.text
        assert f"{API}/jobs?deployment=d2" in unescape(filtered.text)
        none = client.get(f"{WS}/jobs", params={"endpoint": "tools"})
        assert "No job matches these filters" in none.text

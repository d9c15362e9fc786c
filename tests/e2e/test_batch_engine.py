"""The batch engine with real worker processes: scoring scripts, errors, timeouts, cancel, a
controller killed mid-job, model projects and components. Workers run ``.venv``'s interpreter,
which has no pandas: these paths are the standard-library ones."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.waiting import wait_until
from wharf.batch.components import ComponentJob, parse_component_spec, run_component
from wharf.batch.engine import BatchJob, JobResult, run_job
from wharf.batch.launch import ModelProject, Scorer, ScoringScript
from wharf.batch.settings import BatchSettings
from wharf.batch.state import FileStateStore, MemoryStateStore

pytestmark = pytest.mark.e2e

PYTHON = Path(sys.executable)

SCORE = """
import csv, os, random, time

def init():
    marker = os.path.join(os.environ["WHARF_OUTPUT_DIR"], "init-%d" % os.getpid())
    open(marker, "w").close()
    print("init done")  # goes to the job log, not into the protocol

def run(mini_batch):
    time.sleep(random.random() * 0.05)  # finish out of order
    rows = []
    for path in mini_batch:
        name = os.path.basename(path)
        if name == os.environ.get("FAIL_ON"):
            raise KeyError("age")
        with open(path) as handle:
            for row in csv.DictReader(handle):
                same_dir = os.environ["AZUREML_MODEL_DIR"] == os.environ["WHARF_MODEL_DIR"]
                rows.append({"file": name, "id": row["id"], "age2": int(row["age"]) * 2,
                             "model": same_dir, "team": os.environ["TEAM"]})
    return rows
"""


def write_heart_files(folder: Path, count: int, rows: int = 3) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        lines = [f"{n * 100 + r},{20 + r}" for r in range(rows)]
        (folder / f"heart-{n:03d}.csv").write_text("id,age\n" + "\n".join(lines) + "\n")


def write_code(folder: Path, name: str, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(source))
    return folder


@pytest.fixture
def make_job(tmp_path: Path) -> Callable[..., BatchJob]:
    write_heart_files(tmp_path / "in", 7)
    (tmp_path / "model").mkdir()

    def make(source: str = SCORE, scorer: Scorer | None = None, **settings: object) -> BatchJob:
        if scorer is None:
            scorer = ScoringScript(write_code(tmp_path / "code", "score.py", source), "score.py")
        values: dict[str, object] = {"environment_variables": {"TEAM": "blue"}, **settings}
        return BatchJob(
            job_id="job-e2e",
            scorer=scorer,
            settings=BatchSettings.model_validate(values),
            input_path=tmp_path / "in",
            interpreter=PYTHON,
            job_dir=tmp_path / "job",
            output_dir=tmp_path / "out",
            model_dir=tmp_path / "model",
        )

    return make


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def worker_pids(log: Path) -> set[int]:
    """Workers announce ``ready (pid N, ...)`` in the job log."""
    return {
        int(line.split("ready (pid ")[1].split(",")[0]) for line in lines_with(log, "ready (pid")
    }


def lines_with(log: Path, text: str) -> list[str]:
    return [line for line in log.read_text().splitlines() if text in line] if log.exists() else []


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has exited; only its parent's reaping is left


@pytest.fixture
def no_leftover_processes(tmp_path: Path) -> Iterator[None]:
    """Every worker a test started is gone when it ends (killed here, and reported, if not)."""
    yield
    log = tmp_path / "job" / "job.log"
    left = [pid for pid in worker_pids(log) if is_running(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []


@pytest.mark.usefixtures("no_leftover_processes")
def test_scoring_script_output_is_complete_and_in_input_order(
    make_job: Callable[..., BatchJob],
) -> None:
    job = make_job(mini_batch_size=2, max_concurrency_per_instance=2)
    result = run_job(job, MemoryStateStore())
    assert result.status == "completed", result.error
    rows = read_csv_rows(job.output_dir / "predictions.csv")
    assert [row["id"] for row in rows] == [str(n * 100 + r) for n in range(7) for r in range(3)]
    assert rows[0] == {
        "file": "heart-000.csv",
        "id": "0",
        "age2": "40",
        "model": "True",
        "team": "blue",
    }
    assert len(list(job.output_dir.glob("init-*"))) == 2  # init() once per worker
    assert result.progress.mini_batches_done == 4
    assert result.progress.items_done == 7
    assert result.progress.rows_written == 21
    assert result.output_file == job.output_dir / "predictions.csv"
    assert result.seconds_to_first_dispatch is not None
    assert result.seconds_to_first_dispatch < 1
    log = job.log_path.read_text()
    assert log.count("init done") == 2
    assert "job completed: 4 of 4 mini-batches done, 0 failed, 0 retries, 21 rows" in log


@pytest.mark.usefixtures("no_leftover_processes")
def test_a_failing_file_is_reported_and_the_job_completes(
    make_job: Callable[..., BatchJob],
) -> None:
    job = make_job(
        mini_batch_size=1,
        retry_settings={"max_retries": 1},
        environment_variables={"TEAM": "blue", "FAIL_ON": "heart-003.csv"},
    )
    result = run_job(job, MemoryStateStore())
    assert result.status == "completed"
    assert result.error is None
    assert [f.root_cause for f in result.failures] == [
        "run() raised KeyError: 'age' on heart-003.csv"
    ]
    failure = result.failures[0].failure
    assert failure.items == ("heart-003.csv",)
    assert 'raise KeyError("age")' in failure.traceback
    assert "score.py" in failure.traceback
    assert "worker.py" not in failure.traceback  # only the user's frames
    files = {row["file"] for row in read_csv_rows(job.output_dir / "predictions.csv")}
    assert files == {f"heart-{n:03d}.csv" for n in range(7)} - {"heart-003.csv"}
    assert result.progress.retries == 1
    assert result.progress.items_failed == 1
    attempts = lines_with(job.log_path, "(heart-003.csv) attempt")
    assert [line.split("controller INFO ")[1] for line in attempts] == [
        "mini-batch 4/7 (heart-003.csv) attempt 1 sent",
        "mini-batch 4/7 (heart-003.csv) attempt 1 failed (retrying): "
        "run() raised KeyError: 'age' on heart-003.csv",
        "mini-batch 4/7 (heart-003.csv) attempt 2 sent",
        "mini-batch 4/7 (heart-003.csv) attempt 2 failed (no retries left): "
        "run() raised KeyError: 'age' on heart-003.csv",
    ]


@pytest.mark.usefixtures("no_leftover_processes")
def test_error_threshold_zero_fails_the_job_with_the_root_cause(
    make_job: Callable[..., BatchJob],
) -> None:
    job = make_job(
        mini_batch_size=1,
        error_threshold=0,
        retry_settings={"max_retries": 0},
        environment_variables={"TEAM": "blue", "FAIL_ON": "heart-003.csv"},
    )
    result = run_job(job, MemoryStateStore())
    assert result.status == "failed"
    assert result.error == (
        "run() raised KeyError: 'age' on heart-003.csv (1 failed file, more than error_threshold 0)"
    )
    assert not (job.output_dir / "predictions.csv").exists()


HANGS_ONCE = """
import os, time

def run(mini_batch):
    marker = os.path.join(os.environ["WHARF_OUTPUT_DIR"], "hung-once")
    if os.path.basename(mini_batch[0]) == "heart-002.csv" and not os.path.exists(marker):
        open(marker, "w").close()
        time.sleep(3600)
    return [os.path.basename(path) for path in mini_batch]
"""


@pytest.mark.usefixtures("no_leftover_processes")
def test_a_hung_run_is_killed_at_the_timeout_and_retried(
    make_job: Callable[..., BatchJob],
) -> None:
    job = make_job(HANGS_ONCE, mini_batch_size=1, retry_settings={"timeout": 1})
    started = time.monotonic()
    result = run_job(job, MemoryStateStore())
    assert time.monotonic() - started < 20
    assert result.status == "completed", result.error
    assert result.progress.retries == 1
    rows = read_csv_rows(job.output_dir / "predictions.csv")
    assert [row["result"] for row in rows] == [f"heart-{n:03d}.csv" for n in range(7)]
    assert lines_with(job.log_path, "run() did not finish within 1 s on heart-002.csv")


SLEEPS_WITH_A_CHILD = """
import os, subprocess, time

def run(mini_batch):
    child = subprocess.Popen(["sleep", "300"])
    open(os.path.join(os.environ["WHARF_OUTPUT_DIR"], "child-%d" % child.pid), "w").close()
    time.sleep(300)
"""


@pytest.mark.usefixtures("no_leftover_processes")
def test_cancel_stops_workers_and_their_children_within_seconds(
    make_job: Callable[..., BatchJob],
) -> None:
    job = make_job(SLEEPS_WITH_A_CHILD, max_concurrency_per_instance=2, mini_batch_size=1)
    cancel = threading.Event()
    results: list[JobResult] = []
    thread = threading.Thread(
        target=lambda: results.append(run_job(job, MemoryStateStore(), cancel=cancel))
    )
    thread.start()
    try:
        wait_until(lambda: len(list(job.output_dir.glob("child-*"))) == 2, 30, "two busy workers")
    finally:
        cancelled_at = time.monotonic()
        cancel.set()
        thread.join(timeout=10)
    assert time.monotonic() - cancelled_at < 3
    assert results[0].status == "cancelled"
    children = [int(p.name.split("-")[1]) for p in job.output_dir.glob("child-*")]
    workers = worker_pids(job.log_path)
    assert len(workers) == 2
    wait_until(lambda: not any(map(is_running, [*workers, *children])), 5, "processes to end")


CONTROLLER = """
import json, sys
from pathlib import Path
from wharf.batch.engine import BatchJob, run_job
from wharf.batch.launch import ScoringScript
from wharf.batch.settings import BatchSettings
from wharf.batch.state import FileStateStore

args = json.loads(sys.argv[1])
job = BatchJob(
    job_id="job-resume",
    scorer=ScoringScript(Path(args["code"]), "score.py"),
    settings=BatchSettings(mini_batch_size=1, max_concurrency_per_instance=2),
    input_path=Path(args["input"]),
    interpreter=Path(sys.executable),
    job_dir=Path(args["job_dir"]),
    output_dir=Path(args["output"]),
)
print(run_job(job, FileStateStore(Path(args["journal"]))).status)
"""

SLOW_SCORE = """
import csv, os, time

def run(mini_batch):
    time.sleep(0.3)
    name = os.path.basename(mini_batch[0])
    with open(mini_batch[0]) as handle:
        return [{"file": name, "id": row["id"]} for row in csv.DictReader(handle)]
"""


def three_done_one_running(journal: Path) -> bool:
    """Read the journal without touching it (the controller is writing): at least three
    results, and a mini-batch whose last event says it is running."""
    data = journal.read_text()
    last: dict[int, str] = {}
    for line in data[: data.rfind("\n") + 1].splitlines():
        event = json.loads(line)
        if "batch" in event:
            last[event["batch"]] = event["event"]
    return data.count('"event": "result"') >= 3 and "running" in last.values()


@pytest.mark.parametrize(
    "workers_survive", [True, False], ids=["orphaned-workers", "workers-killed"]
)
@pytest.mark.usefixtures("no_leftover_processes")
def test_a_killed_controller_resumes_with_each_item_exactly_once(
    tmp_path: Path, workers_survive: bool
) -> None:
    write_heart_files(tmp_path / "in", 12)
    code = write_code(tmp_path / "code", "score.py", SLOW_SCORE)
    journal = tmp_path / "job" / "state.jsonl"
    args = {
        "code": str(code),
        "input": str(tmp_path / "in"),
        "job_dir": str(tmp_path / "job"),
        "output": str(tmp_path / "out"),
        "journal": str(journal),
    }
    controller = subprocess.Popen(
        [sys.executable, "-c", CONTROLLER, json.dumps(args)], start_new_session=True
    )
    try:
        # Kill while a mini-batch is running (each takes 0.3 s), after three have finished: on
        # a loaded machine "three finished" alone can fall between one result and the next start.
        wait_until(
            lambda: journal.exists() and three_done_one_running(journal),
            30,
            "three finished mini-batches and one running",
        )
        workers = worker_pids(tmp_path / "job" / "job.log")
        if not workers_survive:
            for pid in workers:
                os.kill(pid, signal.SIGKILL)
        os.kill(controller.pid, signal.SIGKILL)
    finally:
        controller.wait(timeout=10)
    assert len(workers) == 2
    wait_until(lambda: not any(map(is_running, workers)), 5, "orphaned workers to exit")
    if workers_survive:
        # Pipe EOF or a new parent process id: whichever each worker noticed first.
        assert len(lines_with(tmp_path / "job" / "job.log", "; exiting")) == 2

    before = FileStateStore(journal).read_batch_states()
    interrupted = {
        batch: state.attempt for batch, state in before.items() if state.status == "running"
    }
    assert interrupted  # the kill came while mini-batches were running
    resumed = subprocess.run(
        [sys.executable, "-c", CONTROLLER, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert resumed.stdout.strip() == "completed", resumed.stderr
    after = FileStateStore(journal).read_batch_states()
    assert all(after[batch].attempt == attempt + 1 for batch, attempt in interrupted.items())
    assert all(state.status == "done" for state in after.values())
    rows = read_csv_rows(tmp_path / "out" / "predictions.csv")
    assert [row["id"] for row in rows] == [str(n * 100 + r) for n in range(12) for r in range(3)]


CRASHES = """
import os

def run(mini_batch):
    if os.path.basename(mini_batch[0]) == "heart-001.csv":
        os._exit(3)
    return [1]
"""


@pytest.mark.usefixtures("no_leftover_processes")
def test_a_worker_that_dies_is_replaced_and_the_cause_reported(
    make_job: Callable[..., BatchJob],
) -> None:
    job = make_job(CRASHES, mini_batch_size=1, retry_settings={"max_retries": 1})
    result = run_job(job, MemoryStateStore())
    assert result.status == "completed"
    assert [f.root_cause for f in result.failures] == [
        "the worker process died (exit code 3) during run() on heart-001.csv"
    ]
    assert result.progress.mini_batches_done == 6


@pytest.mark.usefixtures("no_leftover_processes")
def test_a_failing_init_fails_the_job_at_once(make_job: Callable[..., BatchJob]) -> None:
    source = "def init():\n    raise FileNotFoundError('model.pkl')\n\ndef run(b):\n    return b\n"
    job = make_job(source)
    result = run_job(job, MemoryStateStore())
    assert result.status == "failed"
    assert result.error == "init() raised FileNotFoundError: model.pkl"
    assert "raise FileNotFoundError('model.pkl')" in job.log_path.read_text()
    missing_run = make_job("import os\n")
    result = run_job(missing_run, MemoryStateStore())
    assert result.error == (
        "loading score.py raised AttributeError: score.py defines no run(mini_batch) function"
    )


LISTS = """
import os

def run(mini_batch):
    return ["%s: ok" % os.path.basename(path) for path in mini_batch]
"""


@pytest.mark.parametrize("action", ["jsonl", "summary_only"])
@pytest.mark.usefixtures("no_leftover_processes")
def test_jsonl_output_and_summary_only(make_job: Callable[..., BatchJob], action: str) -> None:
    if action == "jsonl":
        job = make_job(LISTS, output_file_name="scores.jsonl", mini_batch_size=3)
    else:
        job = make_job(LISTS, output_action="summary_only", mini_batch_size=3)
    result = run_job(job, MemoryStateStore())
    assert result.status == "completed", result.error
    assert result.progress.rows_written == 7
    written = sorted(p.name for p in job.output_dir.iterdir())
    if action == "jsonl":
        assert written == ["scores.jsonl"]
        lines = (job.output_dir / "scores.jsonl").read_text().splitlines()
        assert [json.loads(line) for line in lines] == [
            {"result": f"heart-{n:03d}.csv: ok"} for n in range(7)
        ]
    else:
        assert written == []
        assert result.output_file is None


NOISY = """
import os, sys

def run(mini_batch):
    print("print() output")
    os.write(1, b"raw bytes on fd 1\\n")
    os.write(2, b"raw bytes on fd 2\\n")
    wharf_dir = [p for p in sys.path if p.rstrip("/").endswith("wharf/batch")]
    return [{"wharf_dir_on_path": bool(wharf_dir), "stdin": sys.stdin.read()}]
"""


@pytest.mark.usefixtures("no_leftover_processes")
def test_what_user_code_prints_goes_to_the_log_not_the_protocol(
    make_job: Callable[..., BatchJob],
) -> None:
    job = make_job(NOISY, mini_batch_size=7)
    result = run_job(job, MemoryStateStore())
    assert result.status == "completed", result.error
    assert read_csv_rows(job.output_dir / "predictions.csv") == [
        {"wharf_dir_on_path": "False", "stdin": ""}
    ]
    log = job.log_path.read_text()
    for text in ("print() output", "raw bytes on fd 1", "raw bytes on fd 2"):
        assert text in log


PREDICTION = """
def predict(args):
    if args["age"] is None:
        raise ValueError("age is missing")
    return {"id": args["id"], "risk": args["age"] * 2, "type": type(args["age"]).__name__}
"""


@pytest.mark.usefixtures("no_leftover_processes")
def test_a_model_project_predicts_every_row(
    make_job: Callable[..., BatchJob], tmp_path: Path
) -> None:
    project = write_code(tmp_path / "project", "prediction.py", PREDICTION)
    job = make_job(scorer=ModelProject(project), mini_batch_rows=4, output_file_name="p.jsonl")
    result = run_job(job, MemoryStateStore())
    assert result.status == "completed", result.error
    assert result.progress.items_total == 21  # rows, not files
    rows = [json.loads(line) for line in (job.output_dir / "p.jsonl").read_text().splitlines()]
    assert rows[:2] == [{"id": 0, "risk": 40, "type": "int"}, {"id": 1, "risk": 42, "type": "int"}]
    assert [row["id"] for row in rows] == [n * 100 + r for n in range(7) for r in range(3)]


@pytest.mark.usefixtures("no_leftover_processes")
def test_a_failing_predict_names_the_row(make_job: Callable[..., BatchJob], tmp_path: Path) -> None:
    (tmp_path / "in" / "heart-004.csv").write_text("id,age\n400,20\n401,\n402,22\n")
    project = write_code(tmp_path / "project", "prediction.py", PREDICTION)
    job = make_job(
        scorer=ModelProject(project),
        mini_batch_rows=2,
        error_threshold=0,
        retry_settings={"max_retries": 0},
    )
    result = run_job(job, MemoryStateStore())
    assert result.status == "failed"
    assert result.error == (
        "predict() raised ValueError: age is missing on heart-004.csv row 2 "
        "(2 failed rows, more than error_threshold 0)"
    )


ECHO = """
def predict(args):
    return args
"""


@pytest.mark.usefixtures("no_leftover_processes")
def test_rows_split_from_quoted_and_bom_csv_files_are_read_exactly(tmp_path: Path) -> None:
    folder = tmp_path / "tricky"
    folder.mkdir()
    (folder / "a-bom.csv").write_bytes(b"\xef\xbb\xbfid,note\n1,x\n2,y\n3,z\n")
    (folder / "b-quoted.csv").write_text('id,note\n4,"two\nlines"\n5,"a, b"\n6,\n')
    project = write_code(tmp_path / "project", "prediction.py", ECHO)
    job = BatchJob(
        job_id="job-tricky",
        scorer=ModelProject(project),
        settings=BatchSettings(mini_batch_rows=2, output_file_name="rows.jsonl"),
        input_path=folder,
        interpreter=PYTHON,
        job_dir=tmp_path / "job",
        output_dir=tmp_path / "out",
    )
    result = run_job(job, MemoryStateStore())
    assert result.status == "completed", result.error
    rows = [json.loads(line) for line in (tmp_path / "out" / "rows.jsonl").read_text().splitlines()]
    assert rows == [
        {"id": 1, "note": "x"},
        {"id": 2, "note": "y"},
        {"id": 3, "note": "z"},
        {"id": 4, "note": "two\nlines"},
        {"id": 5, "note": "a, b"},
        {"id": 6, "note": None},
    ]


COMPONENT = """
import json, os

def main(data, epochs, rate, shuffle, label, model, metrics):
    with open(os.path.join(model, "model.json"), "w") as handle:
        json.dump({"files": sorted(os.listdir(data)), "epochs": epochs, "rate": rate,
                   "shuffle": shuffle, "label": label,
                   "types": [type(v).__name__ for v in (epochs, rate, shuffle, label)]}, handle)
    with open(metrics, "w") as handle:
        handle.write("accuracy,0.9\\n")
    if epochs == 0:
        1 / epochs
"""


@pytest.mark.usefixtures("no_leftover_processes")
def test_a_component_gets_typed_literals_paths_and_two_outputs(tmp_path: Path) -> None:
    write_heart_files(tmp_path / "in", 2)
    spec = parse_component_spec(
        {
            "entry": "train:main",
            "inputs": {
                "data": {"type": "uri_folder"},
                "epochs": {"type": "integer"},
                "rate": {"type": "number"},
                "shuffle": {"type": "boolean"},
                "label": {"type": "string", "default": "v1"},
            },
            "outputs": {"model": {"type": "uri_folder"}, "metrics": {"type": "uri_file"}},
        }
    )

    def component_job(epochs: str) -> ComponentJob:
        return ComponentJob(
            job_id="job-component",
            spec=spec,
            code_dir=write_code(tmp_path / "code", "train.py", COMPONENT),
            interpreter=PYTHON,
            job_dir=tmp_path / "job",
            inputs={
                "data": str(tmp_path / "in"),
                "epochs": epochs,
                "rate": "0.5",
                "shuffle": "true",
            },
            outputs={"metrics": tmp_path / "out" / "metrics.csv"},
        )

    result = run_component(component_job("3"))
    assert result.status == "completed", result.error
    model = json.loads((tmp_path / "job" / "outputs" / "model" / "model.json").read_text())
    assert model == {
        "files": ["heart-000.csv", "heart-001.csv"],
        "epochs": 3,
        "rate": 0.5,
        "shuffle": True,
        "label": "v1",
        "types": ["int", "float", "bool", "str"],
    }
    assert (tmp_path / "out" / "metrics.csv").read_text() == "accuracy,0.9\n"
    failed = run_component(component_job("0"))
    assert failed.status == "failed"
    assert failed.error == "main() raised ZeroDivisionError: division by zero"

"""Batch test material: scoring code, model projects, components, CSV data, and REST helpers
that put them on a server's default datastore (as the CLI and SDK do before they call it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.waiting import wait_until

SCORE = """
import csv, os, time

def init():
    print("init in", os.getcwd())

def run(mini_batch):
    rows = []
    for path in mini_batch:
        name = os.path.basename(path)
        if name == os.environ.get("FAIL_ON"):
            raise ValueError("cannot score " + name)
        time.sleep(float(os.environ.get("SLEEP", "0")))
        with open(path) as handle:
            for row in csv.DictReader(handle):
                rows.append({"file": name, "id": row["id"], "old": int(row["age"]) > 50})
    return rows
"""

PREDICTION = """
def predict(args):
    return {"id": args["id"], "old": args["age"] > 50}
"""

COMPONENT = """
import os

def main(data, greeting, times, summary, copies):
    names = sorted(os.listdir(data))
    with open(summary, "w") as handle:
        handle.write("%s x%d: %d files\\n" % (greeting, times, len(names)))
    for name in names[:times]:
        with open(os.path.join(data, name)) as source:
            with open(os.path.join(copies, name), "w") as target:
                target.write(source.read())
"""

COMPONENT_SPEC: dict[str, Any] = {
    "entry": "component:main",
    "inputs": {
        "data": {"type": "uri_folder"},
        "greeting": {"type": "string"},
        "times": {"type": "integer"},
    },
    "outputs": {"summary": {"type": "uri_file"}, "copies": {"type": "uri_folder"}},
}


def write_csv_files(folder: Path, count: int, rows: int = 3) -> Path:
    """``count`` CSV files ``heart-000.csv``..., each with ``rows`` rows of id and age."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        lines = [f"{n * 100 + r},{40 + 7 * r}" for r in range(rows)]
        (folder / f"heart-{n:03d}.csv").write_text("id,age\n" + "\n".join(lines) + "\n")
    return folder


def write_code(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def upload_folder(http: httpx.Client, token: str, folder: Path, target: str) -> str:
    """Upload a local folder to the default datastore; its ``wharf://`` reference."""
    headers = {"Authorization": f"Bearer {token}"}
    for file in sorted(folder.rglob("*")):
        if file.is_file():
            relative = file.relative_to(folder).as_posix()
            answer = http.put(
                f"/api/v1/workspaces/default/datastores/default/files/{target}/{relative}",
                content=file.read_bytes(),
                headers=headers,
            )
            assert answer.status_code == 200, answer.text
    return f"wharf://datastores/default/paths/{target}/"


def create_data_asset(http: httpx.Client, token: str, name: str, path: str) -> None:
    answer = http.post(
        f"/api/v1/workspaces/default/data/{name}/versions",
        json={"type": "uri_folder", "path": path},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 201, answer.text


def wait_for_job(
    http: httpx.Client, token: str, name: str, timeout: float = 60, until: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Poll a job until it ends (or reaches one of ``until``); its last state."""
    final = until or ("Completed", "Failed", "Canceled")

    def ended() -> dict[str, Any] | None:
        answer = http.get(
            f"/api/v1/workspaces/default/jobs/{name}",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()
        return job if job["status"] in final else None

    return wait_until(ended, timeout, f"job {name} to reach {' or '.join(final)}")


def set_up_heart_endpoints(http: httpx.Client, token: str, folder: Path, files: int) -> None:
    """Data asset ``heart`` (``files`` CSV files of 3 rows), endpoint ``heart`` with ``d1``
    (scoring script, default, 3 files a mini-batch) and ``d2`` (model project), endpoint
    ``tools`` with a component deployment ``copy``."""
    data = upload_folder(http, token, write_csv_files(folder / "heart", files), "heart")
    create_data_asset(http, token, "heart", data)
    score = upload_folder(http, token, write_code(folder / "s", {"score.py": SCORE}), "c/s")
    project = upload_folder(
        http, token, write_code(folder / "p", {"prediction.py": PREDICTION}), "c/p"
    )
    component = upload_folder(
        http, token, write_code(folder / "k", {"component.py": COMPONENT}), "c/k"
    )
    headers = {"Authorization": f"Bearer {token}"}
    base = "/api/v1/workspaces/default/batch-endpoints"
    for name in ("heart", "tools"):
        assert http.post(base, json={"name": name}, headers=headers).status_code == 201
    deployments = [
        (
            "heart",
            {
                "name": "d1",
                "code_configuration": {"code": score, "scoring_script": "score.py"},
                "settings": {"mini_batch_size": 3, "max_concurrency_per_instance": 2},
            },
        ),
        ("heart", {"name": "d2", "code_configuration": {"code": project}}),
        (
            "tools",
            {"name": "copy", "type": "component", "code_configuration": {"code": component}}
            | COMPONENT_SPEC,
        ),
    ]
    for endpoint, body in deployments:
        created = http.post(f"{base}/{endpoint}/deployments", json=body, headers=headers)
        assert created.status_code == 201, created.text

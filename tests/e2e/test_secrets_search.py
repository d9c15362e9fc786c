"""The secrets search: a real ``wharf up`` run with every kind of secret Wharf keeps, then a
search for each value where it must never be.

A source secret (a private git server's password), a datastore with credentials (moto's S3
with IAM on), an app with secret env, and a batch job that reads that datastore. Then every
API response the test received, the server's log, the command lines of the test's own
processes (sampled all along, and at each request to the git server) and every file under
the data dir (the database included) are searched for the values: none may appear. The
app's replica, and only it, sees its secret env.
"""

from __future__ import annotations

import secrets
import subprocess
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.batchfiles import SCORE, upload_folder, wait_for_job, write_code
from tests.gitrepos import git, make_repo
from tests.gitserver import private_git_server
from tests.processes import RunningWharf, run_wharf_up
from tests.secretsearch import CommandLines, ResponseLog, files_under, find_secrets
from tests.storage_servers import S3Server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

WS = "/api/v1/workspaces/default"
APP_PY = """\
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = os.environ.get("API_KEY", "missing").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


def served_repository(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    make_repo(work, {"requirements.txt": "\n", "app.py": APP_PY}, branch="main")
    root = tmp_path / "served"
    root.mkdir()
    bare = root / "vault.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(work), str(bare)], check=True)
    git(bare, "symbolic-ref", "HEAD", "refs/heads/main")
    return root


def put_csv_files(s3: S3Server, bucket: str) -> None:
    import botocore.session

    client = botocore.session.get_session().create_client(
        "s3",
        endpoint_url=s3.endpoint_url,
        region_name=s3.region,
        aws_access_key_id=s3.access_key_id,
        aws_secret_access_key=s3.secret_access_key,
    )
    for n in range(3):
        body = f"id,age\n{n},{40 + n * 10}\n".encode()
        client.put_object(Bucket=bucket, Key=f"heart/heart-{n}.csv", Body=body)
    client.close()


def token_for(http: httpx.Client, user: str, role: str) -> str:
    assert http.post("/api/v1/users", json={"name": user}).status_code == 201
    assert http.put(f"{WS}/members/{user}", json={"role": role}).status_code == 200
    created = http.post("/api/v1/tokens", json={"name": "test", "user": user})
    assert created.status_code == 201, created.text
    return str(created.json()["token"])


def wait_for_answer(url: str, timeout: float = 120) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = httpx.get(url, timeout=10)
        if answer.status_code == 200:
            return answer
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer 200 within {timeout} s")


def run_everything(
    wharf: RunningWharf,
    http: httpx.Client,
    git_url: str,
    s3: S3Server,
    bucket: str,
    values: dict[str, str],
    tmp_path: Path,
) -> dict[str, Any]:
    """Create the secret-holding resources and use each once; what the test checks after."""
    token = http.headers["Authorization"].removeprefix("Bearer ")
    created = http.post(
        f"{WS}/source-secrets",
        json={"name": "deploy-key", "username": "deployer", "password": values["git password"]},
    )
    assert created.status_code == 201, created.text
    datastore = http.post(
        f"{WS}/datastores",
        json={
            "name": "lake",
            "type": "s3",
            "bucket": bucket,
            "endpoint_url": s3.endpoint_url,
            "region": s3.region,
            "credentials": {
                "access_key_id": s3.access_key_id,
                "secret_access_key": values["datastore key"],
            },
        },
    )
    assert datastore.status_code == 201, datastore.text

    env_file = tmp_path / "vault.env"
    env_file.write_text(f"# the app's API key\nAPI_KEY={values['secret env']}\n")
    app = wharf.cli(
        "app",
        "create",
        "--git",
        git_url,
        "--name",
        "vault",
        "--source-secret",
        "deploy-key",
        "--env",
        "MODE=plain",
        "--secret-env-file",
        str(env_file),
        "--wait",
    )
    assert app.returncode == 0, app.stdout + app.stderr
    assert "plain http" in app.stderr  # the test's git server is http: the CLI warns
    replica = wait_for_answer(f"{wharf.url}/apps/default/vault/")

    code = upload_folder(http, token, write_code(tmp_path / "score", {"score.py": SCORE}), "score")
    assert http.post(f"{WS}/batch-endpoints", json={"name": "heart"}).status_code == 201
    deployment = http.post(
        f"{WS}/batch-endpoints/heart/deployments",
        json={"name": "one", "code_configuration": {"code": code, "scoring_script": "score.py"}},
    )
    assert deployment.status_code == 201, deployment.text
    path = "wharf://datastores/lake/paths/heart/"
    invoked = http.post(
        f"{WS}/batch-endpoints/heart/jobs",
        json={"inputs": {"heart": {"type": "uri_folder", "path": path}}},
    )
    assert invoked.status_code == 201, invoked.text
    job = wait_for_job(http, token, invoked.json()["name"], timeout=180)
    return {"app_cli": app, "replica": replica.text, "job": job}


def test_no_secret_value_shows_anywhere(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str
) -> None:
    put_csv_files(s3_server, s3_bucket)
    values = {
        "git password": "ghp_" + secrets.token_hex(16),
        "datastore key": s3_server.secret_access_key,
        "secret env": "sk-live-" + secrets.token_hex(16),
    }
    responses = ResponseLog()
    lines = CommandLines()
    repository = served_repository(tmp_path)
    with (
        lines,
        private_git_server(
            repository, "deployer", values["git password"], on_request=lines.sample
        ) as gs,
        run_wharf_up(tmp_path, env={"WHARF_ALLOW_PRIVATE_URLS": s3_server.allow_pattern}) as wharf,
    ):
        config = Path(wharf.env["WHARF_CONFIG_DIR"]) / "config.toml"
        token = tomllib.loads(config.read_text())["token"]
        with httpx.Client(
            base_url=wharf.url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
            event_hooks={"response": [responses]},
        ) as http:
            seen = run_everything(
                wharf, http, f"{gs.url}/vault.git", s3_server, s3_bucket, values, tmp_path
            )
            # The replica, and nothing else, sees the secret env.
            assert seen["replica"] == values["secret env"]
            assert seen["job"]["status"] == "Completed", seen["job"]
            readers = {
                role: token_for(http, f"u-{role}", role) for role in ("reader", "contributor")
            }
            for role, user_token in readers.items():
                shown = http.get(
                    f"{WS}/apps/vault", headers={"Authorization": f"Bearer {user_token}"}
                ).json()
                assert shown["secret_env"] == ["API_KEY"], role
                assert shown["env"] == {"MODE": "plain"}, role
            for where in ("/apps", "/datastores", "/source-secrets", "/jobs", "/batch-endpoints"):
                assert http.get(f"{WS}{where}").status_code == 200
            http.get(f"{WS}/apps/vault/builds/1/log")
            http.get(f"{WS}/apps/vault/logs")
            http.get("/api/v1/openapi.json")
        log = wharf.log

    cli = seen["app_cli"]
    found = find_secrets(
        values,
        texts={
            "an API response": responses.texts,
            "the CLI's output": [cli.stdout, cli.stderr],
            "the server's log": [log.read_text(errors="replace")],
            "a command line (ps)": lines.seen,
        },
        files=files_under(tmp_path / "data"),
    )
    assert found == []
    assert lines.samples > 10
    assert len(responses.texts) > 15

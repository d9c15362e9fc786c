"""Notebook workbenches as a data scientist uses them, through Wharf's route and nothing else:
clone the model project with jupyterlab-git, write ``prediction.py``, run it in a kernel over
the WebSocket, commit and push — the push's webhook redeploys the app. Other users are refused,
no request without a Wharf credential reaches Jupyter, and Jupyter's token never shows.

Real processes throughout: ``wharf up``, JupyterLab in bubblewrap, git, a git http server whose
post-receive hook calls the app's webhook, gunicorn replicas. One server (and so one build of
the large JupyterLab environment) serves the module's tests.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.e2e.serving import init_project
from tests.gitrepos import git
from tests.gitserver import GitServer, private_git_server
from tests.processes import RunningWharf, free_port, is_descendant, run_wharf_up
from tests.waiting import wait_until
from wharf.sdk import Client, NotFoundError

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

GIT_USER, GIT_PASSWORD = "scientist", "s3cret-git-password"
NEW_PREDICTION = """\
def predict(args_dict):
    return {"prediction": "from the workbench", "echo": args_dict.get("data")}
"""
HOOK = """\
#!{python}
import json
import sys
import urllib.request

for line in sys.stdin:
    old, new, ref = line.split()
    body = json.dumps({{"git": {{"ref": ref, "commit": new}}}}).encode()
    request = urllib.request.Request({url!r}, data=body, method="POST",
                                     headers={{"Content-Type": "application/json"}})
    urllib.request.urlopen(request, timeout=30).read()
"""


@dataclass
class Lab:
    """The module's server, its model project's git server, and what every response said."""

    wharf: RunningWharf
    client: Client
    token: str
    git: GitServer
    seen: list[str] = field(default_factory=list)
    """Every response (headers and body) the tests received from the workbench route."""

    @property
    def port(self) -> int:
        return urlsplit(self.wharf.url).port or 80

    def host(self, name: str = "lab") -> str:
        return f"nb-admin-{name}-default.apps.localhost:{self.port}"

    def http(self, token: str | None = None, name: str = "lab") -> httpx.Client:
        """A client of the workbench's origin (through wharf up's port), with a Wharf token."""
        headers = {"Host": self.host(name)}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"

        def keep(response: httpx.Response) -> None:
            response.read()
            self.seen.append(f"{response.headers}\n{response.text}")

        return httpx.Client(
            base_url=self.wharf.url,
            headers=headers,
            timeout=120,
            event_hooks={"response": [keep]},
        )


def _git_root(tmp: Path, env: dict[str, str]) -> Path:
    """A bare repository of a freshly rendered model project, branch main."""
    project = init_project(tmp / "work", env)
    git(project, "init", "--quiet", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "-m", "the template")
    root = tmp / "git"
    root.mkdir()
    git(root, "clone", "--quiet", "--bare", str(project), "model.git")
    return root


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("workbenches")
    with ExitStack() as stack:
        wharf = stack.enter_context(
            run_wharf_up(tmp, env={"WHARF_WORKBENCH_CULL_INTERVAL": "1"}, timeout=120)
        )
        client = stack.enter_context(
            Client.from_config(Path(wharf.env["WHARF_CONFIG_DIR"]) / "config.toml")
        )
        token = client.tokens.create("workbench-tests").token
        root = _git_root(tmp, wharf.env)
        server = stack.enter_context(private_git_server(root, GIT_USER, GIT_PASSWORD))
        yield Lab(wharf=wharf, client=client, token=token, git=server)


def _started(lab: Lab, name: str, **options: str) -> None:
    lab.client.workbenches.create(name, **options)
    started = lab.client.workbenches.start(name, timeout=600)
    assert started.phase == "Running", started.message


def execute(lab: Lab, kernel_id: str, code: str, name: str = "lab") -> str:
    """Run ``code`` in a kernel over its WebSocket (through the route); its standard output."""
    sock = socket.create_connection(("127.0.0.1", lab.port))
    uri = f"ws://{lab.host(name)}/api/kernels/{kernel_id}/channels"
    headers = {"Authorization": f"Bearer {lab.token}"}
    with connect(uri, sock=sock, additional_headers=headers, proxy=None, open_timeout=30) as ws:
        message = _execute_request(code)
        msg_id = message["header"]["msg_id"]
        ws.send(json.dumps(message))
        output: list[str] = []
        replied = idle = False
        while not (replied and idle):  # the reply (shell) and the output (iopub) both done
            answer = json.loads(ws.recv(timeout=120))
            if answer.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = answer["header"]["msg_type"]
            if kind == "stream":
                output.append(answer["content"]["text"])
            elif kind == "error":
                pytest.fail("the cell failed: " + "\n".join(answer["content"]["traceback"]))
            elif kind == "execute_reply":
                assert answer["content"]["status"] == "ok", answer["content"]
                replied = True
            elif kind == "status":
                idle = answer["content"]["execution_state"] == "idle"
        return "".join(output)


def submit(lab: Lab, kernel_id: str, code: str, name: str = "lab") -> None:
    """Start ``code`` in a kernel and leave it running (a server cell never finishes)."""
    sock = socket.create_connection(("127.0.0.1", lab.port))
    uri = f"ws://{lab.host(name)}/api/kernels/{kernel_id}/channels"
    headers = {"Authorization": f"Bearer {lab.token}"}
    with connect(uri, sock=sock, additional_headers=headers, proxy=None, open_timeout=30) as ws:
        message = _execute_request(code)
        ws.send(json.dumps(message))
        while True:
            answer = json.loads(ws.recv(timeout=120))
            parent = answer.get("parent_header", {}).get("msg_id")
            if parent == message["header"]["msg_id"] and answer["header"]["msg_type"] == "status":
                return


def _execute_request(code: str) -> dict[str, Any]:
    header = {
        "msg_id": uuid.uuid4().hex,
        "msg_type": "execute_request",
        "session": uuid.uuid4().hex,
        "username": "",
        "version": "5.3",
    }
    content = {"code": code, "silent": False, "store_history": False,
               "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}  # fmt: skip
    return {"header": header, "parent_header": {}, "metadata": {}, "content": content,
            "channel": "shell", "buffers": []}  # fmt: skip


def _jupyter_key(lab: Lab) -> str:
    """The key JupyterLab admits, read from its process's environment (a descendant of
    wharf up): what a leak would show."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or not is_descendant(int(entry.name), lab.wharf.process.pid):
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for item in environ:
            if item.startswith(b"WHARF_WORKBENCH_KEY="):
                return item.split(b"=", 1)[1].decode()
    pytest.fail("no JupyterLab process with a key runs under wharf up")


def _jupyter_log(lab: Lab, name: str = "lab") -> str:
    logs = Path(lab.wharf.env["WHARF_DATA_DIR"]) / "logs" / "apps" / "default"
    return "".join(p.read_text() for p in logs.glob(f"nb:admin:{name}/**/*.log"))


def test_clone_edit_run_and_push_redeploys_the_app(lab: Lab) -> None:
    client = lab.client
    client.source_secrets.create("model-git", username=GIT_USER, password=GIT_PASSWORD)
    app = client.apps.create(
        (Path(lab.wharf.env["WHARF_DATA_DIR"]).parent / "git" / "model.git").as_uri(),
        name="model",
    )
    assert app.name == "model"
    route = f"{lab.wharf.url}/apps/default/model/predictions"
    wait_until(lambda: _predicts(route) == "not implemented", 300, "build #1 serving")
    hook_url = client.apps.webhook_urls("model").urls["generic"]
    hooks = Path(lab.wharf.env["WHARF_DATA_DIR"]).parent / "git" / "model.git" / "hooks"
    (hooks / "post-receive").write_text(HOOK.format(python=sys.executable, url=hook_url))
    (hooks / "post-receive").chmod(0o755)

    _started(lab, "lab", source_secret="model-git")
    with lab.http(lab.token) as http:
        cloned = http.post("/git/clone", json={"clone_url": f"{lab.git.url}/model.git"})
        assert cloned.status_code == 200, cloned.text
        assert cloned.json()["code"] == 0, cloned.text
        listing = http.get("/api/contents/model").json()
        assert "prediction.py" in {item["name"] for item in listing["content"]}
        written = http.put(
            "/api/contents/model/prediction.py",
            json={"type": "file", "format": "text", "content": NEW_PREDICTION},
        )
        assert written.status_code == 200, written.text
        kernel = http.post("/api/kernels", json={"name": "python3"})
        assert kernel.status_code == 201, kernel.text
        kernel_id = kernel.json()["id"]

        printed = execute(
            lab,
            kernel_id,
            "import os, sys\nos.chdir('model'); sys.path.insert(0, '.')\n"
            "import prediction\nprint(prediction.predict({'data': 'cell'}))",
        )
        assert "'prediction': 'from the workbench'" in printed
        # Wharf's SDK works in a cell, as the workbench's owner, with the workbench's token.
        printed = execute(
            lab,
            kernel_id,
            "from wharf import Client\nc = Client.from_config()\n"
            "print([w.name for w in c.workbenches.list()], c.apps.get('model').name)",
        )
        assert "['lab'] model" in printed
        # Nothing of the data dir or the server's secrets is visible to the workbench.
        data_dir = lab.wharf.env["WHARF_DATA_DIR"]
        printed = execute(
            lab,
            kernel_id,
            f"import os\nprint(os.path.exists({data_dir + '/wharf.db'!r}), "
            "'WHARF_GIT_PASSWORD' in os.environ, "
            "os.path.exists(os.path.expanduser('~/.git-credentials')), "
            "'WHARF_WORKBENCH_KEY' in os.environ)",
        )
        assert printed.strip() == "False True False False"

        # Chapter 9: the template's 1_run_flask.ipynb, cell by cell (on a free port, not
        # 5000: this machine is shared), then curl it from another notebook's cell.
        flask_port = free_port()
        notebook = http.get("/api/contents/model/1_run_flask.ipynb").json()["content"]
        cells = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
        runner = http.post("/api/kernels", json={"name": "python3"}).json()["id"]
        execute(lab, runner, "import os, sys\nos.chdir('model'); sys.path.insert(0, '.')")
        execute(lab, runner, cells[0])  # %pip install -r requirements.txt
        submit(lab, runner, cells[1].replace("port=5000", f"port={flask_port}"))
        curl = (
            "import time\nfor _ in range(100):\n"
            "    answer = !curl -s -X POST -H 'Content-Type: application/json' "
            f'--data \'{{{{"data": "hello world"}}}}\' http://127.0.0.1:{flask_port}/predictions\n'
            "    if answer and answer[0].startswith('{'): break\n"
            "    time.sleep(0.2)\nprint(answer[0])"
        )
        printed = execute(lab, kernel_id, curl)
        assert json.loads(printed)["prediction"] == "from the workbench"
        assert http.delete(f"/api/kernels/{runner}").status_code == 204

        added = http.post("/git/model/add_all_unstaged", json={})
        assert added.status_code == 200, added.text
        committed = http.post("/git/model/commit", json={"commit_msg": "predict from the lab"})
        assert committed.status_code == 200, committed.text
        pushed = http.post("/git/model/push", json={})
        assert pushed.status_code == 200, pushed.text
        assert pushed.json()["code"] == 0, pushed.text

    wait_until(lambda: _predicts(route) == "from the workbench", 300, "the pushed commit serving")
    author = git(
        Path(lab.wharf.env["WHARF_DATA_DIR"]).parent / "git" / "model.git",
        "log",
        "-1",
        "--format=%an <%ae>",
    )
    assert author.startswith("admin <")
    latest = max(client.builds.list("model"), key=lambda build: build.number)
    assert latest.trigger == "webhook:generic"


def _predicts(route: str) -> str | None:
    try:
        answer = httpx.post(route, json={"data": "hello"}, timeout=30)
    except httpx.HTTPError:
        return None
    if answer.status_code != 200:
        return None
    value = answer.json().get("prediction")
    return value if isinstance(value, str) else None


def test_only_the_owner_reaches_it_and_jupyters_key_never_shows(lab: Lab) -> None:
    if lab.client.workbenches.list() == []:
        _started(lab, "lab")
    client = lab.client
    client.users.create("bob")
    client.members.assign("bob", "contributor")
    bob = client.tokens.create("bob", user="bob").token

    with lab.http(None) as anonymous:
        refused = anonymous.get("/api/contents/probe-without-credential")
        assert refused.status_code == 401
        assert anonymous.get("/lab").status_code == 401
        # A browser is sent to the console's Workbenches page, where Open signs it in.
        page = anonymous.get("/lab", headers={"Accept": "text/html"})
        assert page.status_code == 303
        assert page.headers["location"] == f"{lab.wharf.url}/w/default/workbenches"
    with lab.http(bob) as other:
        assert other.get("/api/contents/probe-of-another-user").status_code == 403
        assert other.get("/lab").status_code == 403
    with lab.http("wharf_not-a-token") as forged:
        assert forged.get("/api/contents/probe-forged").status_code == 401
    # Bob sees no workbench of admin's: not in his list, not by name.
    with Client(lab.wharf.url, token=bob) as as_bob:
        assert as_bob.workbenches.list() == []
        with pytest.raises(NotFoundError):
            as_bob.workbenches.get("lab")
    # A WebSocket without a credential is refused before it reaches Jupyter.
    sock = socket.create_connection(("127.0.0.1", lab.port))
    with pytest.raises(InvalidStatus, match="HTTP 401"):
        connect(f"ws://{lab.host()}/api/events/subscribe", sock=sock, proxy=None)

    # The owner's sign-in link sets a cookie on the workbench's origin, once.
    link = client.workbenches.sign_in_url("lab")
    parts = urlsplit(link)
    assert parts.netloc == lab.host()
    with lab.http(None) as browser:
        signed_in = browser.get(f"{parts.path}?{parts.query}")
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == "/lab"
        cookie = signed_in.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "Domain" not in cookie
        assert browser.get(f"{parts.path}?{parts.query}").status_code == 401  # used up
        page = browser.get("/lab")
        assert page.status_code == 200
        assert "JupyterLab" in page.text
        # A cookie-borne change needs Jupyter's XSRF token, as JupyterLab sends it.
        body = {"type": "file", "format": "text", "content": "x"}
        assert browser.put("/api/contents/xsrf.txt", json=body).status_code == 403
        xsrf = browser.cookies.get("_xsrf")
        assert xsrf, "JupyterLab's page set no _xsrf cookie"
        allowed = browser.put("/api/contents/xsrf.txt", json=body, headers={"X-XSRFToken": xsrf})
        assert allowed.status_code in (200, 201), allowed.text

    with lab.http(lab.token) as owner:
        assert owner.get("/api/contents/probe-of-the-owner").status_code == 404
    jupyter_key = _jupyter_key(lab)
    log = _jupyter_log(lab)
    assert "probe-of-the-owner" in log  # Jupyter logs what reaches it...
    for probe in ("probe-without-credential", "probe-of-another-user", "probe-forged"):
        assert probe not in log  # ...and these never did
    assert all(jupyter_key not in text for text in lab.seen)
    assert jupyter_key not in log
    assert jupyter_key not in lab.wharf.log.read_text()
    # Not on the console's origin either: there is no path route to a workbench.
    with httpx.Client(base_url=lab.wharf.url, timeout=30) as plain:
        path = "/apps/default/nb:admin:lab/api/status"
        answer = plain.get(path, headers={"Authorization": f"Bearer {lab.token}"})
        assert answer.status_code == 404


def test_stop_and_start_keep_the_home_folder_and_an_idle_one_is_culled(lab: Lab) -> None:
    _started(lab, "scratch")
    with lab.http(lab.token, "scratch") as http:
        body = {"type": "file", "format": "text", "content": "kept\n"}
        assert http.put("/api/contents/notes.txt", json=body).status_code == 201
    assert lab.client.workbenches.stop("scratch").phase == "Stopped"
    with lab.http(lab.token, "scratch") as http:
        assert http.get("/api/status").status_code == 404  # no route while it is stopped
    assert lab.client.workbenches.start("scratch").phase == "Running"
    with lab.http(lab.token, "scratch") as http:
        assert http.get("/api/contents/notes.txt").json()["content"] == "kept\n"

    _started(lab, "idle", idle_timeout="3s")
    culled = wait_until(
        lambda: (w := lab.client.workbenches.get("idle")).phase == "Stopped" and w, 120, "culling"
    )
    assert culled.message == "culled after 3s idle"
    assert lab.client.workbenches.get("scratch").phase == "Running"  # no timeout: kept


def test_stopping_wharf_up_stops_every_workbench_and_a_restart_leaves_them_stopped(
    lab: Lab,
) -> None:
    if not any(w.phase == "Running" for w in lab.client.workbenches.list()):
        _started(lab, "scratch")
    data = Path(lab.wharf.env["WHARF_DATA_DIR"])
    children = _descendants(lab.wharf.process.pid)
    assert children
    lab.wharf.process.terminate()
    assert lab.wharf.process.wait(60) in (0, -signal.SIGTERM)
    wait_until(lambda: not any(_alive(pid) for pid in children), 30, "every workbench stopped")
    config = Path(lab.wharf.env["WHARF_CONFIG_DIR"]) / "config.toml"
    with run_wharf_up(data.parent, timeout=120), Client.from_config(config) as client:
        phases = {w.name: (w.phase, w.message) for w in client.workbenches.list()}
        assert all(phase == "Stopped" for phase, _ in phases.values()), phases
        assert client.workbenches.start("scratch").phase == "Running"


def _descendants(ancestor: int) -> list[int]:
    return [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and is_descendant(int(p.name), ancestor)
    ]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] != "Z"

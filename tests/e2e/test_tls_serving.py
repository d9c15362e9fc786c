"""``wharf up --tls self-signed`` as an admin runs it: HTTPS on its own port with a CA it keeps,
TLS routes on an app built from the template, the CLI over https at once.

Real processes throughout: ``wharf up``, the CLI, git, uv, gunicorn replicas. One server for the
module (a build is the slow part).
"""

from __future__ import annotations

import json
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.gitrepos import git
from tests.processes import WHARF, RunningWharf, run_wharf_up
from tests.waiting import wait_until
from wharf.sdk import Client

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]


@pytest.fixture(scope="module")
def wharf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningWharf]:
    with run_wharf_up(tmp_path_factory.mktemp("tls"), "--tls", "self-signed") as running:
        yield running


@pytest.fixture(scope="module")
def project(wharf: RunningWharf, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("work")
    result = wharf.cli("init", "--no-input", "-o", str(work))
    assert result.returncode == 0, result.stderr
    folder = work / "my_model"
    git(folder, "init", "--quiet", "-b", "main")
    git(folder, "add", "-A")
    git(folder, "commit", "--quiet", "-m", "first model")
    return folder


def ca_path(wharf: RunningWharf) -> Path:
    return Path(wharf.env["WHARF_DATA_DIR"]) / "tls" / "ca.pem"


def verified() -> ssl.SSLContext:
    return ssl.create_default_context()


def create_app(wharf: RunningWharf, project: Path, name: str, policy: str) -> list[str]:
    """Create a TLS app, wait until it serves; its route URLs as ``app show`` lists them."""
    created = wharf.cli(
        "app",
        "create",
        "--name",
        name,
        "--git",
        project.as_uri(),
        "--tls",
        "edge",
        "--insecure-policy",
        policy,
        "--wait",
    )
    assert created.returncode == 0, created.stdout + created.stderr
    shown = wharf.cli("app", "show", name, "--output", "json")
    assert shown.returncode == 0, shown.stderr
    urls = json.loads(shown.stdout)["route"]["urls"]
    assert isinstance(urls, list)
    return urls


def test_the_cli_talks_https_with_the_ca_up_wrote(wharf: RunningWharf, tmp_path: Path) -> None:
    config = (Path(wharf.env["WHARF_CONFIG_DIR"]) / "config.toml").read_text()
    assert f'ca_cert = "{ca_path(wharf)}"' in config
    assert 'url = "https://127.0.0.1:' in config
    assert ca_path(wharf).with_name("ca.key").stat().st_mode & 0o777 == 0o600
    listed = wharf.cli("workspace", "list")
    assert listed.returncode == 0, listed.stderr
    assert "default" in listed.stdout
    # The SDK reads the same file: the https URL and the CA to trust.
    with Client.from_config(Path(wharf.env["WHARF_CONFIG_DIR"]) / "config.toml") as client:
        assert client.url.startswith("https://")
        assert client.health().status == "ok"

    # Without the CA the CLI says what to do, in plain words; with --ca-cert it works.
    https_url = config.split('url = "', 1)[1].split('"', 1)[0]
    env = dict(wharf.env, WHARF_CONFIG_DIR=str(tmp_path), WHARF_URL=https_url)
    env["WHARF_TOKEN"] = config.split('token = "', 1)[1].split('"', 1)[0]
    untrusted = subprocess.run(
        [WHARF, "workspace", "list"], env=env, capture_output=True, text=True, timeout=60
    )
    assert untrusted.returncode != 0
    assert "--ca-cert" in untrusted.stderr
    assert "Traceback" not in untrusted.stderr
    trusted = subprocess.run(
        [WHARF, "--ca-cert", str(ca_path(wharf)), "workspace", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert trusted.returncode == 0, trusted.stderr


def test_a_redirect_route_answers_https_and_sends_http_there(
    wharf: RunningWharf, project: Path
) -> None:
    urls = create_app(wharf, project, "secure", "Redirect")
    https_base = next(u for u in urls if u.startswith("https://127.0.0.1:"))
    assert https_base.endswith("/apps/default/secure/")
    tls_port = https_base.split(":")[2].split("/")[0]
    assert all(u.startswith("https://") for u in urls), urls
    assert all(f":{tls_port}/" in u for u in urls), urls

    trusted = ssl.create_default_context(cafile=str(ca_path(wharf)))
    answer = httpx.post(f"{https_base}predictions", json={"data": "hi"}, verify=trusted)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"prediction": "not implemented"}
    # By host name too: the certificate covers *.{apps_domain}.
    by_host = httpx.post(
        f"https://127.0.0.1:{tls_port}/predictions",
        json={"data": "hi"},
        headers={"Host": f"secure-default.apps.localhost:{tls_port}"},
        verify=trusted,
    )
    assert by_host.json() == {"prediction": "not implemented"}

    plain = httpx.get(f"{wharf.url}/apps/default/secure/status?x=1")
    assert plain.status_code == 308
    assert plain.headers["location"] == f"{https_base}status?x=1"
    followed = httpx.get(plain.headers["location"], verify=trusted)
    assert followed.status_code == 200, followed.text

    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{https_base}status", verify=verified())


def test_a_route_with_policy_none_refuses_plain_http(wharf: RunningWharf, project: Path) -> None:
    urls = create_app(wharf, project, "strict", "None")
    https_base = next(u for u in urls if u.startswith("https://127.0.0.1:"))
    trusted = ssl.create_default_context(cafile=str(ca_path(wharf)))
    wait_until(lambda: httpx.get(f"{https_base}status", verify=trusted).status_code == 200)

    plain = httpx.get(f"{wharf.url}/apps/default/strict/status")
    assert plain.status_code == 403
    assert plain.json()["type"] == "urn:wharf:problem:insecure-request-refused"
    assert https_base in plain.json()["detail"]

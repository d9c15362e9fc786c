"""The console served by a real ``wharf up``: a password set with the CLI signs in over HTTP,
pages render, sign-out ends the session."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.processes import WHARF, RunningWharf, run_wharf_up

pytestmark = pytest.mark.e2e


def set_password(
    wharf: RunningWharf, password: str, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WHARF, "user", "set-password", *args, "--password-stdin"],
        input=password + "\n",
        env=wharf.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_password_set_with_the_cli_signs_in_to_the_console(tmp_path: Path) -> None:
    with run_wharf_up(tmp_path) as wharf:
        short = set_password(wharf, "short")
        assert short.returncode != 0
        assert "at least 10 characters" in short.stderr + short.stdout
        assert "Traceback" not in short.stderr
        done = set_password(wharf, "a console password")
        assert done.returncode == 0, done.stderr
        assert "password of admin set" in done.stdout + done.stderr
        with httpx.Client(base_url=wharf.url) as browser:
            assert browser.get("/").headers["location"] == "/login"
            form = browser.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token is not None
            signed = browser.post(
                "/login",
                data={
                    "csrf_token": token.group(1),
                    "username": "admin",
                    "password": "a console password",
                },
            )
            assert signed.status_code == 303
            assert "HttpOnly" in signed.headers["set-cookie"]
            topology = browser.get("/", follow_redirects=True)
            assert topology.url.path == "/w/default/topology"
            assert "<h1>Topology</h1>" in topology.text
            for path in ("/tokens", "/w/default/import", "/w/default/source-secrets"):
                assert browser.get(path).status_code == 200, path
            htmx = browser.get("/console/static/vendor/htmx.min.js")
            assert htmx.status_code == 200
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', topology.text)
            assert csrf is not None
            out = browser.post("/logout", data={"csrf_token": csrf.group(1)})
            assert out.status_code == 303
            assert browser.get("/tokens").status_code == 303

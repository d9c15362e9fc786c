"""Model projects in end-to-end tests: render one, ``wharf serve`` it, run its notebooks."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.processes import WHARF, free_port, stop_group, wait_for_http


def serve_env(
    data_dir: Path, config_dir: Path, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The machine's environment (HOME kept, so uv's download cache is shared) with Wharf's
    state in test folders."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHARF_")}
    env.update(WHARF_DATA_DIR=str(data_dir), WHARF_CONFIG_DIR=str(config_dir), COLUMNS="200")
    env.update(extra or {})
    return env


def run_wharf(
    *args: str, env: Mapping[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WHARF, *args], env=dict(env), capture_output=True, text=True, timeout=timeout
    )


def init_project(output_dir: Path, env: Mapping[str, str], *args: str) -> Path:
    """``wharf init --no-input -o output_dir``; the rendered project's folder."""
    done = run_wharf("init", "--no-input", "-o", str(output_dir), *args, env=env)
    assert done.returncode == 0, done.stderr
    (project,) = [p for p in output_dir.iterdir() if p.is_dir()]
    return project


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    ready_after: float
    """Seconds from starting ``wharf serve`` to the app answering ``GET /status``."""

    def output(self) -> str:
        return self.log.read_text()


@contextmanager
def serve(
    project: Path, env: Mapping[str, str], log_dir: Path, *args: str, timeout: float = 300
) -> Iterator[Served]:
    """``wharf serve PROJECT --port <free>`` in its own process group, stopped after."""
    port = free_port()
    log = log_dir / f"serve-{port}.log"
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [WHARF, "serve", str(project), "--port", str(port), *args],
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_http(f"{url}/status", timeout, process)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- wharf serve said:\n{log.read_text()}") from None
        yield Served(url, process, log, time.monotonic() - started)
    finally:
        stop_group(process)


def execute_notebook(path: Path, env: Mapping[str, str] | None = None) -> nbformat.NotebookNode:
    """Run every cell headless with the ``python3`` kernel, in the notebook's folder."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env=dict(os.environ if env is None else env))
    return notebook


def text_outputs(notebook: nbformat.NotebookNode) -> str:
    """Everything the notebook's cells printed or displayed as text."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)

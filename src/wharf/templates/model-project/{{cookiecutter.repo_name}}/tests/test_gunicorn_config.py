"""The gunicorn settings come from the environment, with defaults that suit OpenShift."""

import runpy
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "gunicorn_config.py"
VARIABLES = ("GUNICORN_BIND", "GUNICORN_PROCESSES", "GUNICORN_THREADS", "GUNICORN_TIMEOUT")


def load(monkeypatch, **env):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


def test_defaults(monkeypatch):
    config = load(monkeypatch)
    assert config["bind"] == "0.0.0.0:8080"
    # As Open Data Hub's template: two workers, a 120 s timeout.
    assert (config["workers"], config["threads"], config["timeout"]) == (2, 1, 120)


def test_environment_overrides(monkeypatch):
    config = load(
        monkeypatch,
        GUNICORN_BIND="127.0.0.1:9000",
        GUNICORN_PROCESSES="3",
        GUNICORN_THREADS="4",
        GUNICORN_TIMEOUT="45",
    )
    assert config["bind"] == "127.0.0.1:9000"
    assert (config["workers"], config["threads"], config["timeout"]) == (3, 4, 45)

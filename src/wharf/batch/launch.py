"""What a deployment's workers run and with which environment: the scorers and worker launches."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wharf.batch.executor import WORKER_SCRIPT, WorkerLaunch
from wharf.batch.output import staging_dir
from wharf.batch.planner import Item, RowCounter
from wharf.batch.settings import BatchSettings
from wharf.errors import Invalid
from wharf.sandbox import NO_SANDBOX, Sandbox, SandboxProfile

# The server's environment may hold its database URL and secret key: workers get only these.
_PASSED_THROUGH = ("HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME")
AZURE_MODELS_FOLDER = "azureml-models"


@dataclass(frozen=True)
class ScoringScript:
    """A ``model`` deployment with an Azure ML style scoring script (``init()`` / ``run()``)."""

    code_dir: Path
    scoring_script: str
    """Path of the script inside ``code_dir``, e.g. ``score.py``."""


@dataclass(frozen=True)
class ModelProject:
    """A ``model`` deployment that names a model project: ``predict(args: dict) -> dict`` is
    called for every row of the tabular input, as the project's online endpoint calls it."""

    project_dir: Path
    module: str = "prediction"
    function: str = "predict"


@dataclass(frozen=True)
class MlflowModel:
    """A ``model`` deployment of an MLflow model without a scoring script: Wharf's driver
    (``mlflow_driver.py``, beside the worker) loads it with ``mlflow.pyfunc`` in each worker."""

    code_dir: Path
    """An empty folder: the workers' working directory."""


Scorer = ScoringScript | ModelProject | MlflowModel
MLFLOW_DRIVER = Path(__file__).with_name("mlflow_driver.py")


def check_interpreter(interpreter: Path) -> None:
    if not (interpreter.is_file() and os.access(interpreter, os.X_OK)):
        raise Invalid(f"the deployment's Python interpreter {interpreter} does not exist")


def describe_scorer(scorer: Scorer, settings: BatchSettings) -> tuple[dict[str, Any], Path, str]:
    """The worker's config message, its working folder and the name of the call it makes."""
    common = {
        "output_format": settings.output_format,
        "logging_level": settings.logging_level,
    }
    if isinstance(scorer, MlflowModel):
        config = {
            "mode": "mlflow",
            "code_dir": str(scorer.code_dir),
            "driver": str(MLFLOW_DRIVER),
            "layout": settings.mlflow_output_layout,
        }
        return {**config, **common}, scorer.code_dir, "predict()"
    if isinstance(scorer, ScoringScript):
        script = scorer.code_dir / scorer.scoring_script
        if not script.is_file():
            raise Invalid(f"the scoring script {scorer.scoring_script} is not in {scorer.code_dir}")
        config = {
            "mode": "script",
            "code_dir": str(scorer.code_dir),
            "script": scorer.scoring_script,
        }
        return {**config, **common}, scorer.code_dir, "run()"
    module_file = scorer.project_dir / f"{scorer.module.replace('.', '/')}.py"
    if not module_file.is_file():
        raise Invalid(f"the model project {scorer.project_dir} has no {module_file.name}")
    config = {
        "mode": "predict",
        "code_dir": str(scorer.project_dir),
        "module": scorer.module,
        "function": scorer.function,
    }
    return {**config, **common}, scorer.project_dir, f"{scorer.function}()"


def build_worker_env(
    interpreter: Path,
    environment_variables: Mapping[str, str],
    *,
    model_dir: Path | None,
    output_dir: Path,
) -> dict[str, str]:
    """The workers' environment: a few basics of the server's, the deployment's variables, and
    Wharf's (which win, so that a script can rely on them)."""
    env = {name: os.environ[name] for name in _PASSED_THROUGH if name in os.environ}
    # The environment's bin folder first, so `python` and console scripts run inside it.
    env["PATH"] = os.pathsep.join([str(interpreter.parent), os.environ.get("PATH", os.defpath)])
    env["PYTHONFAULTHANDLER"] = "1"  # a crash in native code leaves a traceback in the log
    env.update(environment_variables)
    env["WHARF_OUTPUT_DIR"] = env["AZUREML_BI_OUTPUT_PATH"] = str(output_dir)
    if model_dir is not None:
        # Azure's layout: a folder that holds the model's folder, which scripts glob for.
        in_layout = model_dir.parent.name == AZURE_MODELS_FOLDER
        env["WHARF_MODEL_DIR"] = str(model_dir.resolve() if in_layout else model_dir)
        env["AZUREML_MODEL_DIR"] = str(model_dir.parent if in_layout else model_dir)
    return env


def azure_model_layout(model_dir: Path, job_dir: Path) -> Path:
    """``job_dir/azureml-models/<model folder's name>``, a link to ``model_dir``: pass it as
    the model dir and workers get ``AZUREML_MODEL_DIR`` as Azure sets it (the folder holding
    the model's folder) and ``WHARF_MODEL_DIR`` at the model itself."""
    layout = job_dir / AZURE_MODELS_FOLDER
    layout.mkdir(parents=True, exist_ok=True)
    link = layout / (model_dir.name or "model")
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(model_dir.resolve(), target_is_directory=True)
    return link


def worker_profile(
    interpreter: Path, code_dir: Path, *, readable: Sequence[Path], writable: Sequence[Path]
) -> SandboxProfile:
    """What a worker sees: its environment, the worker script (and the MLflow driver it may
    load), its code and ``readable`` (inputs, model) read-only; ``writable`` (its outputs, its
    staging folder) and a private /tmp."""
    environment = interpreter.parent.parent  # <env>/bin/python
    return SandboxProfile(
        cwd=code_dir,
        read_only=(environment, WORKER_SCRIPT, MLFLOW_DRIVER, code_dir, *readable),
        writable=tuple(writable),
    )


def build_launch(
    scorer: Scorer,
    settings: BatchSettings,
    *,
    interpreter: Path,
    model_dir: Path | None,
    input_path: Path,
    output_dir: Path,
    job_dir: Path,
    log_path: Path,
    tag: str,
    sandbox: Sandbox = NO_SANDBOX,
) -> WorkerLaunch:
    check_interpreter(interpreter)
    config, cwd, call = describe_scorer(scorer, settings)
    env = build_worker_env(
        interpreter, settings.environment_variables, model_dir=model_dir, output_dir=output_dir
    )
    # The model as Azure lays it out (a link) and the folder it points at (WHARF_MODEL_DIR).
    models = [] if model_dir is None else sorted({model_dir, model_dir.resolve()})
    readable = [input_path, *models]
    profile = worker_profile(
        interpreter, cwd, readable=readable, writable=[output_dir, staging_dir(job_dir)]
    )
    return WorkerLaunch(
        interpreter=str(interpreter),
        config=config,
        env=env,
        cwd=str(cwd),
        log_path=log_path,
        tag=tag,
        call=call,
        sandbox=sandbox,
        profile=profile,
    )


def count_rows_in_environment(launch: WorkerLaunch, files: Sequence[Item]) -> RowCounter:
    """A row counter for the Parquet files among ``files``: they are counted in the deployment's
    environment (pyarrow is the deployment's requirement, not the server's), all in one call,
    in the workers' sandbox."""
    parquet = [item.path for item in files if item.path.lower().endswith(".parquet")]
    counts: dict[str, int] = {}
    if parquet:
        completed = subprocess.run(
            launch.wrap([launch.interpreter, str(WORKER_SCRIPT), "count-rows", *parquet]),
            capture_output=True,
            text=True,
            env=dict(launch.env),
            cwd=launch.cwd,
            check=False,
            start_new_session=True,
        )
        if completed.returncode != 0:
            last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
            raise Invalid(f"could not count the rows of the Parquet input: {last}")
        counts = dict(zip(parquet, json.loads(completed.stdout), strict=True))

    return counts.__getitem__

"""Runs queued batch jobs on threads of the server; the work itself runs in worker processes.

Started and stopped by the server's lifespan. Each job: get the deployment's environment
(from the cache), bring its inputs to this machine (files of a local datastore are read where
they are; other storage is copied under the job's folder), run the batch engine with the
database as its state store, then upload the outputs and record how it ended.

A job interrupted by a stop, or by a server that was killed, is queued again when the server
starts and resumes from its recorded mini-batches: the engine never runs a finished one twice.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from wharf.batch.components import ComponentJob, parse_component_spec, run_component
from wharf.batch.engine import BatchJob, ExecutorFactory, JobProgress, JobResult, run_job
from wharf.batch.executor import LocalExecutor
from wharf.batch.joblog import JobLog
from wharf.batch.launch import (
    AZURE_MODELS_FOLDER,
    MlflowModel,
    ModelProject,
    Scorer,
    ScoringScript,
    azure_model_layout,
)
from wharf.batch.output import discard_staging
from wharf.batch.pipelines import parse_pipeline
from wharf.batch.settings import BatchSettings
from wharf.batch.steps import PipelineJob, StepRun, run_pipeline
from wharf.build.environments import ensure_environment
from wharf.errors import ServiceError
from wharf.logfiles import LogRotation
from wharf.services import job_storage, jobs, workspaces
from wharf.services.deployment_code import environment_plan, environment_python
from wharf.services.job_state import DatabaseStateStore
from wharf.services.platform import Platform
from wharf.states import JobStatus
from wharf.store.models import Job, Workspace
from wharf.store.types import utcnow
from wharf.workers.loop import ClaimLoop

logger = logging.getLogger("wharf.jobs")


def _after(started: datetime, seconds: float | None) -> datetime | None:
    return None if seconds is None else started + timedelta(seconds=seconds)


PROGRESS_SECONDS = 0.5
"""How often a running job's progress is written to the store, at most."""
CANCEL_POLL_SECONDS = 0.5


class _Interrupted(Exception):
    """The job was asked to stop (a cancel, or the server stopping) before it ran."""


class _JobRun:
    """One job, from Preparing to its end (or to an interruption that leaves it to resume)."""

    def __init__(
        self,
        platform: Platform,
        job_id: int,
        cancel: threading.Event,
        executor_factory: ExecutorFactory = LocalExecutor,
    ) -> None:
        self.platform = platform
        self.executor_factory = executor_factory
        self.job_id = job_id
        self.cancel = cancel
        with platform.transaction() as session:
            job = session.get(Job, job_id)
            assert job is not None
            workspace = session.get(Workspace, job.workspace_id)
            assert workspace is not None
            self.workspace = workspace.name
            self.name = job.name
            self.kind = job.kind
            self.spec: dict[str, Any] = dict(job.spec)
            self.settings = BatchSettings.model_validate(job.settings)
            self.resumed = job.resumed
        self.dir = jobs.job_dir(platform.settings, self.workspace, self.name)
        self.log = JobLog(self.dir / "job.log", LogRotation.of(platform.settings))
        self.last_progress = 0.0
        self.engine_started: datetime | None = None

    def run(self, stopping: threading.Event) -> None:
        status, error, progress = JobStatus.FAILED, None, None
        try:
            result = self.execute()
            status, error, progress = _STATUS[result.status], result.error, result.progress
            self.record_first_runs(result)
        except _Interrupted:
            status = JobStatus.CANCELED
        except ServiceError as exc:
            error = exc.detail
            self.log.write(f"job failed: {error}")
        except Exception as exc:  # Wharf's own fault: say so, keep the traceback in the log
            logger.exception("job %s failed unexpectedly", self.name)
            error = f"Wharf could not run the job: {type(exc).__name__}: {exc}"
            self.log.write(f"job failed: {error}")
        # A result's own runner (engine, component, pipeline) wrote how it ended already.
        if status == JobStatus.CANCELED and stopping.is_set() and not self.cancel_requested():
            self.log.write("the server is stopping: the job resumes when it starts again")
            return
        with self.platform.transaction() as session:
            jobs.finish_job(session, self.job_id, status, error=error, progress=progress)
        logger.info("job %s/%s is %s", self.workspace, self.name, status)
        # Only the log stays: outputs are in their datastore, inputs where they came from.
        discard_staging(self.dir)
        for folder in ("inputs", "model", "outputs", AZURE_MODELS_FOLDER):
            shutil.rmtree(self.dir / folder, ignore_errors=True)
        for marker in self.dir.glob("*.complete"):
            marker.unlink()

    def record_first_runs(self, result: JobResult) -> None:
        if self.engine_started is None:
            return
        started = self.engine_started
        with self.platform.transaction() as session:
            jobs.record_first_runs(
                session,
                self.job_id,
                first_mini_batch_at=_after(started, result.seconds_to_first_dispatch),
                first_run_at=_after(started, result.seconds_to_first_run),
            )

    def cancel_requested(self) -> bool:
        with self.platform.transaction() as session:
            return bool(jobs.cancel_requested_ids(session, [self.job_id]))

    def execute(self) -> JobResult:
        logger.info("job %s/%s is Preparing", self.workspace, self.name)
        if self.resumed:
            self.log.write(f"resuming job {self.name} after a server restart")
        self.log.write(f"preparing job {self.name}")
        if self.kind == "pipeline":
            return self.execute_pipeline()
        plan = environment_plan(Path(self.spec["folder"]), self.spec["environment_source"])
        environment = ensure_environment(
            plan,
            self.platform.settings.envs_dir,
            python=environment_python(Path(self.spec["folder"])),
            log=self.log.write,
            installer=self.platform.installer(),
        )
        inputs = {
            name: self.bring_input(name, value) for name, value in self.spec["inputs"].items()
        }
        model_dir = self.bring_model()
        self.advance(JobStatus.RUNNING)
        code_dir = Path(self.spec["folder"]) / "code"
        if self.kind == "component":
            result = self.run_component(code_dir, environment.python, inputs, model_dir)
        else:
            result = self.run_model(code_dir, environment.python, inputs, model_dir)
        if result.status == "completed":
            self.advance(JobStatus.FINALIZING)
            self.upload_outputs()
        return result

    def execute_pipeline(self) -> JobResult:
        folder = Path(self.spec["folder"])
        steps: dict[str, StepRun] = {}
        for name in self.spec["component"]["order"]:
            step_folder = folder / "steps" / name
            has_requirements = (step_folder / "environment" / "requirements.txt").is_file()
            environment = ensure_environment(
                environment_plan(step_folder, "requirements" if has_requirements else "none"),
                self.platform.settings.envs_dir,
                python=environment_python(step_folder),
                log=self.log.write,
                installer=self.platform.installer(),
            )
            steps[name] = StepRun(step_folder / "code", environment.python)
        inputs = {
            name: self.bring_input(name, value) for name, value in self.spec["inputs"].items()
        }
        self.advance(JobStatus.RUNNING)
        shutil.rmtree(self.dir / "outputs", ignore_errors=True)  # a resumed pipeline starts over
        shutil.rmtree(self.dir / "steps", ignore_errors=True)
        component = self.spec["component"]
        pipeline = parse_pipeline(
            {
                "inputs": component["inputs"],
                "outputs": component["outputs"],
                "jobs": component["jobs"],
            }
        )
        job = PipelineJob(
            job_id=self.name,
            pipeline=pipeline,
            steps=steps,
            job_dir=self.dir,
            inputs=inputs,
            outputs={name: self.local_output(name) for name in self.spec["outputs"]},
            environment_variables=self.settings.environment_variables,
            sandbox=self.platform.sandbox,
        )
        result = run_pipeline(job, cancel=self.cancel, on_steps=self.record_steps)
        if result.status == "completed":
            self.advance(JobStatus.FINALIZING)
            self.upload_outputs()
        return result

    def record_steps(self, steps: list[dict[str, Any]]) -> None:
        with self.platform.transaction() as session:
            jobs.record_steps(session, self.job_id, steps)

    def advance(self, to: JobStatus) -> None:
        with self.platform.transaction() as session:
            if not jobs.advance_job(session, self.job_id, to):
                raise _Interrupted
        logger.info("job %s/%s is %s", self.workspace, self.name, to)
        if self.cancel.is_set():
            raise _Interrupted

    def bring_input(self, name: str, value: dict[str, Any]) -> Any:
        if "reference" not in value:
            return value["value"]
        return str(self.bring(value["reference"], self.dir / "inputs" / name, f"input {name!r}"))

    def bring_model(self) -> Path | None:
        reference = self.spec.get("model")
        if reference is None:
            return None
        return azure_model_layout(self.bring(reference, self.dir / "model", "model"), self.dir)

    def bring(self, reference: str, target: Path, what: str) -> Path:
        """A local path for a reference: where it is on a local datastore, else a copy (made
        once per job: a resumed job reuses it)."""
        with self.platform.transaction() as session:
            workspace = workspaces.read_workspace(session, self.workspace)
            location = job_storage.locate(session, self.platform, workspace, reference, what=what)
        if job_storage.is_local(location):
            job_storage.check_links_stay_inside(location, what)
            return Path(location.path)
        marker = target.with_name(target.name + ".complete")
        if marker.exists():
            return Path(marker.read_text())
        if job_storage.path_kind(location) == "uri_file":
            # keep the file's name: it says its format (.csv, .parquet) and shows in errors
            target = target / location.path.rstrip("/").rsplit("/", 1)[-1]
        self.log.write(f"copying {what} from {reference}")
        job_storage.copy_to_local(location, target)
        marker.write_text(str(target))
        return target

    def run_model(
        self, code_dir: Path, python: Path, inputs: dict[str, Any], model_dir: Path | None
    ) -> JobResult:
        scorer: Scorer
        if self.kind == "scoring_script":
            scorer = ScoringScript(code_dir, self.spec["scoring_script"])
        elif self.kind == "mlflow_model":
            scorer = MlflowModel(code_dir)
        else:
            scorer = ModelProject(code_dir)
        (input_path,) = inputs.values()
        engine_job = BatchJob(
            job_id=self.name,
            scorer=scorer,
            settings=self.settings,
            input_path=Path(input_path),
            interpreter=python,
            job_dir=self.dir,
            output_dir=self.dir / "outputs" / "score",
            model_dir=model_dir,
            sandbox=self.platform.sandbox,
            log_rotation=self.log.rotation,
        )
        store = DatabaseStateStore(self.platform, self.job_id)
        self.engine_started = utcnow()
        return run_job(
            engine_job,
            store,
            cancel=self.cancel,
            on_progress=self.report,
            executor_factory=self.executor_factory,
        )

    def run_component(
        self, code_dir: Path, python: Path, inputs: dict[str, Any], model_dir: Path | None
    ) -> JobResult:
        outputs_dir = self.dir / "outputs"
        shutil.rmtree(outputs_dir, ignore_errors=True)  # a resumed component starts over
        component = ComponentJob(
            job_id=self.name,
            spec=parse_component_spec({"entry": self.spec["entry"], **self.spec["component"]}),
            code_dir=code_dir,
            interpreter=python,
            job_dir=self.dir,
            inputs=inputs,
            outputs={name: self.local_output(name) for name in self.spec["outputs"]},
            environment_variables=self.settings.environment_variables,
            logging_level=self.settings.logging_level,
            model_dir=model_dir,
            sandbox=self.platform.sandbox,
            log_rotation=self.log.rotation,
        )
        return run_component(component, cancel=self.cancel, executor_factory=self.executor_factory)

    def local_output(self, name: str) -> Path:
        """Where the job writes an output before it is uploaded."""
        output = self.spec["outputs"][name]
        if self.kind == "pipeline" and "." in name:  # a step's own output, kept with the job
            step, _, step_output = name.partition(".")
            return self.dir / "steps" / step / "outputs" / step_output
        if self.kind not in ("component", "pipeline"):
            if output["type"] == "uri_folder":
                return self.dir / "outputs" / "score"
            return self.dir / "outputs" / "score" / self.settings.output_file_name
        folder = self.dir / "outputs" / name
        return folder if output["type"] == "uri_folder" else folder / name

    def upload_outputs(self) -> None:
        for name, output in self.spec["outputs"].items():
            source = self.local_output(name)
            if not source.exists():
                if output["type"] == "uri_file":
                    self.log.write(f"output {name!r} was not written: nothing to upload")
                continue
            with self.platform.transaction() as session:
                workspace = workspaces.read_workspace(session, self.workspace)
                location = job_storage.locate(
                    session, self.platform, workspace, output["reference"], what=f"output {name!r}"
                )
            job_storage.upload_local(source, location)
            self.log.write(f"output {name!r} written to {output['reference']}")

    def report(self, progress: JobProgress) -> None:
        now = time.monotonic()
        if now - self.last_progress < PROGRESS_SECONDS and progress.mini_batches_running:
            return
        self.last_progress = now
        with self.platform.transaction() as session:
            jobs.record_progress(session, self.job_id, progress)


_STATUS = {
    "completed": JobStatus.COMPLETED,
    "failed": JobStatus.FAILED,
    "cancelled": JobStatus.CANCELED,
}


class JobRunner(ClaimLoop):
    """Threads that take Queued jobs, oldest first, and a monitor that passes cancel requests
    on to the jobs running here within a fraction of a second. ``executor_factory`` places the
    work (worker processes on this machine by default). A stop interrupts the running jobs:
    they resume at the next start."""

    kind = "job"
    stop_timeout = 20.0

    def __init__(
        self,
        platform: Platform,
        *,
        workers: int = 2,
        executor_factory: ExecutorFactory = LocalExecutor,
    ) -> None:
        super().__init__(platform, workers=workers)
        self._executor_factory = executor_factory

    def recover(self, session: Session) -> None:
        resumed, canceled = jobs.recover_interrupted_jobs(session)
        if resumed or canceled:
            logger.warning("%d interrupted job(s) will resume; %d canceled", resumed, canceled)

    def claim(self, session: Session) -> int | None:
        claimed = jobs.claim_next_job(session)
        return claimed.id if claimed else None

    def run(self, item_id: int, cancel: threading.Event) -> None:
        _JobRun(self._platform, item_id, cancel, self._executor_factory).run(self.stopping)

    def on_stop(self) -> None:
        """Stop the workers of running jobs; those jobs resume at the next start."""
        for job_id in self.running_ids():
            self.interrupt(job_id)

    def helpers(self) -> list[tuple[str, Callable[[], None]]]:
        return [("wharf-job-cancels", self._watch_cancels)]

    def _watch_cancels(self) -> None:
        while not self.stopping.is_set():
            ids = self.running_ids()
            if ids:
                try:
                    with self._platform.transaction() as session:
                        requested = jobs.cancel_requested_ids(session, ids)
                except Exception:
                    logger.exception("could not look for cancel requests")
                    requested = []
                for job_id in requested:
                    self.interrupt(job_id)
            self.stopping.wait(CANCEL_POLL_SECONDS)

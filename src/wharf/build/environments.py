"""The environment cache: one uv-built environment per (Python, requirements) content hash.

``<envs_dir>/<key>/`` is a complete, relocatable virtual environment or does not exist:
it is built in a staging folder beside it and renamed into place, so a reader never sees a
half-installed one. A lock file per key makes a second builder of the same key wait, then
reuse what the first one built.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from wharf.build.install import InstallPlan
from wharf.build.uv import Log, run_uv, summarise_failure, uv_environment
from wharf.errors import Invalid

# Bump when the layout of a cached environment changes: old ones are then left unused.
CACHE_SCHEMA = "1"
METADATA_FILE = "wharf-environment.json"
GENERATED_REQUIREMENTS = "wharf-requirements.txt"
KEY_LENGTH = 24


@dataclass(frozen=True)
class Environment:
    """A ready environment in the cache."""

    path: Path
    key: str
    reused: bool
    """True when it was already in the cache (nothing was installed)."""
    seconds: float
    """How long it took to have it ready."""

    @property
    def python(self) -> Path:
        """The environment's interpreter."""
        return self.path / "bin" / "python"


def _discard(line: str) -> None:
    pass


@lru_cache(maxsize=8)
def describe_python(python: str) -> str:
    """What identifies an interpreter for the cache, e.g. ``cpython-3.11.7-x86_64``."""
    probe = (
        "import platform, sys; "
        "print(f\"{sys.implementation.name}-{'.'.join(map(str, sys.version_info[:3]))}"
        '{sys.abiflags}-{platform.machine()}")'
    )
    try:
        done = subprocess.run(
            [python, "-c", probe], capture_output=True, text=True, timeout=60, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise Invalid(f"cannot run the Python interpreter {python}: {exc}") from None
    return done.stdout.strip()


def environment_key(python_tag: str, fingerprint: str) -> str:
    """The cache key (folder name) of an environment."""
    material = f"{CACHE_SCHEMA}\n{python_tag}\n{fingerprint}".encode()
    return hashlib.sha256(material).hexdigest()[:KEY_LENGTH]


def _is_complete(path: Path) -> bool:
    # The interpreter link dangles when the base Python was removed: then it is unusable.
    return (path / METADATA_FILE).is_file() and (path / "bin" / "python").exists()


@contextmanager
def _lock(path: Path, log: Log) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("waiting for another build of this environment to finish ...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _clear_leftovers(envs_dir: Path, key: str) -> None:
    """Remove staging folders of builds that died, and a broken environment (lock held)."""
    for leftover in envs_dir.glob(f".building-{key}-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    final = envs_dir / key
    if final.exists() and not _is_complete(final):
        shutil.rmtree(final, ignore_errors=True)


def _install(plan: InstallPlan, staging: Path, python: str, log: Log) -> None:
    env = uv_environment(plan.build_env)
    root = plan.project.root
    created = run_uv(
        ["venv", "--quiet", "--relocatable", "--no-project", "--python", python, str(staging)],
        cwd=root,
        env=env,
        log=log,
    )
    if created.returncode != 0:
        raise Invalid(f"could not create an environment: {summarise_failure(created)}")
    args = ["pip", "install", "--python", str(staging / "bin" / "python")]
    for file in plan.requirement_files:
        args += ["-r", str(file)]
    if plan.generated_requirements is not None:
        generated = staging / GENERATED_REQUIREMENTS
        generated.write_text(plan.generated_requirements)
        args += ["-r", str(generated)]
    if plan.install_project:
        args.append(str(root))
    if len(args) == 4:
        log("nothing to install")
        return
    installed = run_uv(args, cwd=root, env=env, log=log)
    if installed.returncode != 0:
        raise Invalid(
            f"could not install the packages of {root} ({plan.summary}):\n"
            + summarise_failure(installed),
            code="build-failed",
        )


LAST_USED_FILE = ".wharf-last-used"


def _mark_used(env_dir: Path) -> None:
    """Note a use, so housekeeping keeps environments that are still wanted."""
    with contextlib.suppress(OSError):
        (env_dir / LAST_USED_FILE).touch()


def last_used(env_dir: Path) -> float:
    """When the environment was last asked for (or built), as a Unix time."""
    for name in (LAST_USED_FILE, METADATA_FILE):
        with contextlib.suppress(OSError):
            return (env_dir / name).stat().st_mtime
    return env_dir.stat().st_mtime


def ensure_environment(
    plan: InstallPlan,
    envs_dir: Path,
    *,
    python: str | None = None,
    log: Log = _discard,
) -> Environment:
    """The cached environment for ``plan``, built first if the cache does not have it.

    ``python`` is the interpreter to build on (default: the one running Wharf). Installer
    output goes line by line to ``log``. A failed install raises ``Invalid`` carrying the
    resolver's message and leaves nothing behind.
    """
    started = time.monotonic()
    envs_dir = envs_dir.resolve()
    interpreter = python or sys.executable
    key = environment_key(describe_python(interpreter), plan.fingerprint)
    final = envs_dir / key
    if _is_complete(final):
        _mark_used(final)
        return Environment(final, key, reused=True, seconds=time.monotonic() - started)
    envs_dir.mkdir(parents=True, exist_ok=True)
    with _lock(envs_dir / ".locks" / f"{key}.lock", log):
        if _is_complete(final):  # another process built it while this one waited
            _mark_used(final)
            return Environment(final, key, reused=True, seconds=time.monotonic() - started)
        _clear_leftovers(envs_dir, key)
        staging = Path(tempfile.mkdtemp(prefix=f".building-{key}-", dir=envs_dir))
        staging.chmod(0o755)  # mkdtemp makes it private; an environment is not a secret
        log(f"building environment {key}: {plan.summary}, {describe_python(interpreter)}")
        try:
            _install(plan, staging, interpreter, log)
            metadata = {
                "key": key,
                "python": describe_python(interpreter),
                "installed": plan.summary,
                "project": str(plan.project.root),
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
            staging.rename(final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return Environment(final, key, reused=False, seconds=time.monotonic() - started)

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
import os
import shutil
import stat
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
from wharf.build.stale_index import install_refreshing_stale_pages
from wharf.build.uv import (
    Log,
    ProcessGroups,
    UvResult,
    run_uv,
    server_uv_cache,
    summarise_failure,
    uv_binary,
    uv_environment,
)
from wharf.errors import Invalid
from wharf.sandbox import NO_SANDBOX, Sandbox, SandboxProfile

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


@dataclass(frozen=True)
class Installer:
    """How environment installs run: in which sandbox, with which uv cache, tracked where."""

    sandbox: Sandbox = NO_SANDBOX
    share_uv_cache: bool = True
    """False: each install gets a uv cache of its own (see ``WHARF_SANDBOX_SHARED_UV_CACHE``)."""
    groups: ProcessGroups | None = None
    """Where running installs register, so that a stopping server can kill them."""


def _discard(line: str) -> None:
    pass


def python_home(python: str) -> Path:
    """The installation an interpreter belongs to (a virtual environment's base install)."""
    return Path(python).resolve().parent.parent


@lru_cache(maxsize=8)
def describe_python(python: str, sandbox: Sandbox = NO_SANDBOX) -> str:
    """What identifies an interpreter for the cache, e.g. ``cpython-3.11.7-x86_64``."""
    probe = (
        "import platform, sys; "
        "print(f\"{sys.implementation.name}-{'.'.join(map(str, sys.version_info[:3]))}"
        '{sys.abiflags}-{platform.machine()}")'
    )
    try:
        # The server's own interpreter, run as user code is: it needs nothing of the host.
        real = str(Path(python).resolve())
        profile = SandboxProfile(cwd=Path("/"), read_only=(python_home(python),), network=False)
        done = subprocess.run(
            sandbox.command(profile, [real, "-c", probe]),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            start_new_session=True,
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
    for leftover in envs_dir.glob(f".install-{key}-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    final = envs_dir / key
    if final.exists() and not _is_complete(final):
        shutil.rmtree(final, ignore_errors=True)


def open_for_reading(tree: Path) -> None:
    """Let every user read (never write) a built environment: user code runs as another
    identity and must load it, while a server with a private umask (077) would leave files such
    as ``pyvenv.cfg`` 0600. It holds no secret; the data dir above it (0700) keeps it from
    other users of the machine."""
    for folder, dirs, files in os.walk(tree):
        for name in (*dirs, *files):
            _add_read(Path(folder) / name)
    _add_read(tree)


def _add_read(path: Path) -> None:
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return
    wanted = stat.S_IRGRP | stat.S_IROTH
    if stat.S_ISDIR(info.st_mode) or info.st_mode & stat.S_IXUSR:
        wanted |= stat.S_IXGRP | stat.S_IXOTH
    if info.st_mode & wanted != wanted:
        path.chmod(stat.S_IMODE(info.st_mode) | wanted)


def clear_all_leftovers(envs_dir: Path) -> int:
    """At start, when no install runs: remove every staging folder and private uv cache that a
    stopped or killed server left behind. Returns how many there were."""
    found = [*envs_dir.glob(".building-*"), *envs_dir.glob(".install-*")]
    for leftover in found:
        shutil.rmtree(leftover, ignore_errors=True)
    return len(found)


def _install(plan: InstallPlan, staging: Path, python: str, log: Log, installer: Installer) -> None:
    env = uv_environment(plan.build_env)
    if not installer.sandbox.active:
        _run_installs(plan, staging, python, log, env, installer, None)
        return
    # The install's own working folder, beside the staging one: a private uv cache (so that a
    # setup.py cannot alter packages other workspaces install) and a copy of the source (a
    # build backend writes egg-info and build/ into it; the build's checkout stays as it was).
    work = Path(
        tempfile.mkdtemp(
            prefix=f".install-{staging.name[len('.building-') :]}-", dir=staging.parent
        )
    )
    root = plan.project.root
    # The cache is always named and mounted: inside, HOME is a private /tmp, so uv's default
    # cache (or a server's UV_CACHE_DIR left unmounted) would be empty or not writable.
    cache = server_uv_cache() if installer.share_uv_cache else work / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    env["UV_CACHE_DIR"] = str(cache)
    writable = [staging, cache]
    rebind: tuple[tuple[Path, Path], ...] = ()
    if plan.install_project:
        shutil.copytree(root, work / "source", symlinks=True)
        rebind = ((work / "source", root),)
    env["UV_LINK_MODE"] = "copy"  # each bind mount is a filesystem of its own to link()
    python = str(Path(python).resolve())  # a venv's link may point outside the sandbox
    profile = SandboxProfile(
        cwd=root,
        read_only=(root, uv_binary(), python_home(python)),
        writable=tuple(writable),
        rebind=rebind,
    )
    try:
        _run_installs(plan, staging, python, log, env, installer, profile)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run_installs(
    plan: InstallPlan,
    staging: Path,
    python: str,
    log: Log,
    env: dict[str, str],
    installer: Installer,
    profile: SandboxProfile | None,
) -> None:
    root = plan.project.root

    def uv(args: list[str]) -> UvResult:
        return run_uv(
            args,
            cwd=root,
            env=env,
            log=log,
            sandbox=installer.sandbox,
            profile=profile,
            groups=installer.groups,
        )

    created = uv(
        ["venv", "--quiet", "--relocatable", "--no-project", "--python", python, str(staging)]
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
    installed = install_refreshing_stale_pages(uv, args, log)
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
    installer: Installer = Installer(),
) -> Environment:
    """The cached environment for ``plan``, built first if the cache does not have it.

    ``python`` is the interpreter to build on (default: the one running Wharf). Installer
    output goes line by line to ``log``. A failed install raises ``Invalid`` carrying the
    resolver's message and leaves nothing behind.
    """
    started = time.monotonic()
    envs_dir = envs_dir.resolve()
    interpreter = python or sys.executable
    tag = describe_python(interpreter, installer.sandbox)
    key = environment_key(tag, plan.fingerprint)
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
        log(f"building environment {key}: {plan.summary}, {tag}")
        try:
            _install(plan, staging, interpreter, log, installer)
            metadata = {
                "key": key,
                "python": tag,
                "installed": plan.summary,
                "project": str(plan.project.root),
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
            open_for_reading(staging)
            staging.rename(final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return Environment(final, key, reused=False, seconds=time.monotonic() - started)

"""Model projects: render the model-project template; prepare one to run as when deployed.

The template is a plain cookiecutter template shipped inside the package, so
``cookiecutter <path>`` renders the same project as ``wharf init``. Rendering here goes
through cookiecutter's generation functions directly: no prompts (the CLI asks), and no
replay file written into the user's home folder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from wharf.build.detect import detect_builder
from wharf.build.environments import Environment, ensure_environment
from wharf.build.install import plan_install
from wharf.build.s2i import RunCommand, plan_run
from wharf.build.uv import Log
from wharf.errors import Conflict, Invalid
from wharf.services.ports import check_port_free

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates" / "model-project"

LICENSES = ("No license file", "GNU GPLv3", "MIT", "BSD-3-Clause")

# Spellings people type for each licence (compared lower-cased, SPDX ids included).
_LICENSE_ALIASES = {
    "no license file": "No license file",
    "none": "No license file",
    "no": "No license file",
    "gnu gplv3": "GNU GPLv3",
    "gplv3": "GNU GPLv3",
    "gpl": "GNU GPLv3",
    "gpl-3.0": "GNU GPLv3",
    "gpl-3.0-or-later": "GNU GPLv3",
    "gpl-3.0-only": "GNU GPLv3",
    "mit": "MIT",
    "bsd-3-clause": "BSD-3-Clause",
    "bsd": "BSD-3-Clause",
    "bsd3": "BSD-3-Clause",
}


@dataclass(frozen=True)
class ProjectAnswers:
    """The template's questions, answered. ``repo_name=None`` derives it from the name."""

    project_name: str
    author_name: str
    description: str
    open_source_license: str = LICENSES[0]
    repo_name: str | None = None


def read_template_defaults() -> ProjectAnswers:
    """The answers the template gives when nobody is asked (its ``cookiecutter.json``)."""
    raw = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())
    return ProjectAnswers(
        project_name=raw["project_name"],
        author_name=raw["author_name"],
        description=raw["description"],
        open_source_license=raw["open_source_license"][0],
    )


def derive_repo_name(project_name: str) -> str:
    """The folder name the template derives from a project name: lower case, spaces to ``_``."""
    return project_name.lower().replace(" ", "_")


def resolve_license(value: str) -> str:
    """The template's name for a licence given as its name, a number (1-4) or an SPDX id."""
    text = value.strip()
    if text.isdigit() and 1 <= int(text) <= len(LICENSES):
        return LICENSES[int(text) - 1]
    if text in LICENSES:
        return text
    if text.lower() in _LICENSE_ALIASES:
        return _LICENSE_ALIASES[text.lower()]
    choices = ", ".join(repr(name) for name in LICENSES)
    raise Invalid(f"unknown licence {value!r}: choose one of {choices}")


_REPO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def _check_answers(answers: ProjectAnswers) -> str:
    """Validate the answers; return the folder name the project will get."""
    if not answers.project_name.strip():
        raise Invalid("the project name must not be empty")
    repo_name = answers.repo_name or derive_repo_name(answers.project_name)
    if not _REPO_NAME.match(repo_name):
        suggestion = re.sub(r"[^A-Za-z0-9_.-]+", "_", repo_name).strip("_.-") or "my_model"
        raise Invalid(
            f"{repo_name!r} cannot be the project's folder and package name: use letters, "
            f"digits, '_', '-' and '.', starting with a letter or digit (e.g. --repo-name "
            f"{suggestion})"
        )
    if answers.open_source_license not in LICENSES:
        resolve_license(answers.open_source_license)  # raises with the list of choices
    return repo_name


def render_project(answers: ProjectAnswers, output_dir: Path, *, overwrite: bool = False) -> Path:
    """Render the template into ``output_dir/<repo_name>`` and return that folder.

    An existing folder is a ``Conflict`` unless ``overwrite``: then the template's files are
    written over it and any other files in it are left alone (as cookiecutter does).
    """
    # Imported here: cookiecutter takes a quarter second to import and only this needs it.
    from cookiecutter.exceptions import (  # type: ignore[import-untyped]
        CookiecutterException,
        FailedHookException,
    )
    from cookiecutter.generate import (  # type: ignore[import-untyped]
        generate_context,
        generate_files,
    )
    from cookiecutter.prompt import prompt_for_config  # type: ignore[import-untyped]

    repo_name = _check_answers(answers)
    target = output_dir / repo_name
    if target.exists() and not overwrite:
        raise Conflict(
            f"{target} already exists: choose another project name or output folder, "
            "or overwrite it (--overwrite)"
        )
    if target.exists() and not target.is_dir():
        raise Conflict(f"{target} exists and is not a folder")
    extra: dict[str, Any] = {k: v for k, v in asdict(answers).items() if v is not None}
    context = generate_context(
        context_file=str(TEMPLATE_DIR / "cookiecutter.json"), extra_context=extra
    )
    # With no_input, this only renders the derived defaults (repo_name) from the answers.
    context["cookiecutter"] = prompt_for_config(context, no_input=True)
    context["cookiecutter"]["_template"] = str(TEMPLATE_DIR)
    context["cookiecutter"]["_output_dir"] = str(output_dir.resolve())
    output_dir.mkdir(parents=True, exist_ok=True)
    try:
        project = generate_files(
            repo_dir=str(TEMPLATE_DIR),
            context=context,
            output_dir=str(output_dir),
            overwrite_if_exists=overwrite,
        )
    except FailedHookException as exc:
        raise Invalid(f"the template refused these answers: {exc}") from None
    except CookiecutterException as exc:
        raise Invalid(f"could not render the model-project template: {exc}") from None
    return Path(project)


def _discard(line: str) -> None:
    pass


@dataclass(frozen=True)
class PreparedServe:
    """A model project ready to start locally: its environment and its run command."""

    environment: Environment
    command: RunCommand
    url: str


def _browse_url(host: str, port: int) -> str:
    shown = "localhost" if host in ("0.0.0.0", "::") else host  # noqa: S104
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def prepare_serve(
    project_dir: Path,
    *,
    port: int,
    host: str,
    envs_dir: Path,
    env: Mapping[str, str] | None = None,
    base_env: Mapping[str, str] | None = None,
    log: Log = _discard,
) -> PreparedServe:
    """Build (or reuse) the project's environment and plan its run, as a deployed app's.

    ``env`` plays the part of the app's build and runtime variables; ``base_env`` is the
    machine's environment the app process starts from.
    """
    check_port_free(host, port)
    project = detect_builder(project_dir)
    plan = plan_install(project, build_env=env)
    environment = ensure_environment(plan, envs_dir, log=log)
    command = plan_run(
        project.root,
        environment.path,
        port,
        host=host,
        base_env=base_env,
        runtime_env=env,
        log=log,
    )
    return PreparedServe(environment=environment, command=command, url=_browse_url(host, port))

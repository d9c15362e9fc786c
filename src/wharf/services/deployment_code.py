"""A batch deployment's code and environment, checked before the deployment is stored.

The code is checked without running it (the server never imports user code): the scoring
script, ``prediction.py`` or the component's module must exist, compile, and define the
function Wharf calls. The environment's packages come from ``environment.requirements``, a
conda file's pip dependencies, or a model project's own ``requirements.txt``.
"""

from __future__ import annotations

import ast
import os
import platform
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from uv import find_uv_bin

from wharf.build.detect import PYTHON_MARKERS, PythonProject, detect_builder
from wharf.build.install import InstallPlan, plan_install
from wharf.errors import Invalid

# Requirement lines that would make the installer read files of the server.
_FILE_OPTIONS = ("-r", "-c", "-e", "--requirement", "--constraint", "--editable")


def check_code(code_dir: Path, kind: str, scoring_script: str | None, entry: str | None) -> None:
    """Refuse code that cannot work: a missing file, a syntax error, no function to call."""
    if kind == "scoring_script":
        assert scoring_script is not None
        relative = PurePosixPath(scoring_script)
        if relative.is_absolute() or ".." in relative.parts or relative.suffix != ".py":
            raise Invalid(
                f"scoring_script {scoring_script!r} must be a .py file inside the code folder",
                field="code_configuration.scoring_script",
            )
        _check_defines(
            code_dir / relative, "run", scoring_script, "code_configuration.scoring_script"
        )
    elif kind == "model_project":
        _check_defines(
            code_dir / "prediction.py",
            "predict",
            "prediction.py",
            "code_configuration.code",
            hint=" (a model project; or give a scoring_script)",
        )
    else:
        assert entry is not None
        module, _, function = entry.partition(":")
        path = code_dir / f"{module.replace('.', '/')}.py"
        if not path.is_file():
            path = code_dir / module.replace(".", "/") / "__init__.py"
        _check_defines(path, function, f"{module.replace('.', '/')}.py", "entry")


def _check_defines(path: Path, name: str, shown: str, field: str, hint: str = "") -> None:
    if not path.is_file():
        raise Invalid(f"the code folder has no {shown}{hint}", field=field)
    source = path.read_bytes()
    try:
        tree = ast.parse(source, shown)
        compile(tree, shown, "exec")  # some errors (return outside a function) come only here
    except SyntaxError as exc:
        raise Invalid(
            f"{shown} line {exc.lineno}: {exc.msg} (it does not compile)", field=field
        ) from None
    except ValueError as exc:  # null bytes
        raise Invalid(f"{shown} cannot be compiled: {exc}", field=field) from None
    if name not in _defined_names(tree.body):
        raise Invalid(f"{shown} defines no {name}() function", field=field)


def _defined_names(body: Sequence[ast.stmt]) -> set[str]:
    """Names a module's top level defines, also under ``if`` and ``try`` (fallback imports)."""
    names: set[str] = set()
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.If):
            names |= _defined_names(node.body) | _defined_names(node.orelse)
        elif isinstance(node, ast.Try):
            names |= _defined_names(node.body) | _defined_names(node.orelse)
            for handler in node.handlers:
                names |= _defined_names(handler.body)
    return names


def conda_pip_requirements(conda_file: Mapping[str, Any]) -> list[str]:
    """The pip dependencies of a conda environment file (``dependencies: [..., {pip: [...]}]``)."""
    dependencies = conda_file.get("dependencies") or []
    if not isinstance(dependencies, list):
        raise Invalid("conda_file: dependencies must be a list", field="environment.conda_file")
    found: list[str] = []
    for dependency in dependencies:
        if isinstance(dependency, Mapping) and "pip" in dependency:
            pip = dependency["pip"] or []
            if not isinstance(pip, list):
                raise Invalid(
                    "conda_file: the pip dependencies must be a list",
                    field="environment.conda_file",
                )
            found.extend(str(item) for item in pip)
    return found


_CONDA_SPEC = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*(?:[=<>!~]=?\s*([^\s]*))?")
PYTHON_NOTE = "python.txt"


def conda_notes(conda_file: Mapping[str, Any]) -> dict[str, Any]:
    """What a conda file asks for beyond pip: ``python=3.X`` (honoured when uv finds such an
    interpreter here, else the deployment says which it uses instead and why) and other conda
    packages, which Wharf does not install and lists as ignored."""
    notes: dict[str, Any] = {"ignored": []}
    for dependency in conda_file.get("dependencies") or []:
        if isinstance(dependency, Mapping) or not isinstance(dependency, str | int | float):
            continue
        text = str(dependency).strip()
        match = _CONDA_SPEC.match(text)
        name = match.group(1).lower() if match else text
        if name == "pip":  # the installer itself: uv takes its place
            continue
        if name == "python" and match is not None and match.group(2):
            notes.update(_pick_python(match.group(2).rstrip(".*")))
            continue
        notes["ignored"].append(text)
    if notes["ignored"]:
        notes["ignored_note"] = (
            "conda packages are not installed (Wharf builds with pip/uv): list them under pip: "
            "if the code needs them"
        )
    return notes


def _pick_python(wanted: str) -> dict[str, Any]:
    found = find_python(wanted)
    if found is not None:
        return {"python_requested": wanted, "python": found}
    return {
        "python_requested": wanted,
        "python": None,
        "python_note": f"python {wanted} (from the conda file) is not installed on this server; "
        f"the environment uses the server's Python {platform.python_version()} instead",
    }


def find_python(version: str) -> str | None:
    """An installed interpreter of ``version`` that uv finds (never downloaded), or None."""
    try:
        done = subprocess.run(
            [find_uv_bin(), "python", "find", version],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "UV_PYTHON_DOWNLOADS": "never", "NO_COLOR": "1"},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = done.stdout.strip()
    return path if done.returncode == 0 and path else None


def environment_python(deployment_folder: Path) -> str | None:
    """The interpreter a deployment revision's environment is built on (None: the server's)."""
    note = deployment_folder / "environment" / PYTHON_NOTE
    return note.read_text().strip() or None if note.is_file() else None


def check_requirements(lines: Sequence[str], field: str) -> list[str]:
    checked = []
    for line in lines:
        text = str(line).strip()
        if not text or text.startswith("#"):
            continue
        if "\n" in text or "\r" in text:
            raise Invalid(f"requirement {text!r} holds a line break", field=field)
        if text.split()[0].split("=")[0] in _FILE_OPTIONS:
            raise Invalid(
                f"requirement {text!r} names a file; list the packages themselves", field=field
            )
        checked.append(text)
    return checked


def write_environment_folder(
    folder: Path,
    kind: str,
    code_dir: Path,
    requirements: Sequence[str] | None,
    conda_file: Mapping[str, Any] | None,
) -> str:
    """Write what the environment installs; returns where it came from: ``requirements``,
    ``conda_file``, ``project`` (the model project's own files) or ``none``."""
    folder.mkdir(parents=True, exist_ok=True)
    if requirements is not None and conda_file is not None:
        raise Invalid(
            "give environment.requirements or environment.conda_file, not both",
            field="environment",
        )
    if requirements is not None:
        lines = check_requirements(requirements, "environment.requirements")
        source = "requirements"
    elif conda_file is not None:
        lines = check_requirements(conda_pip_requirements(conda_file), "environment.conda_file")
        source = "conda_file"
        python = conda_notes(conda_file).get("python")
        if python:
            (folder / PYTHON_NOTE).write_text(python)
    elif kind == "model_project" and any((code_dir / m).is_file() for m in PYTHON_MARKERS):
        return "project"
    else:
        return "none"
    (folder / "requirements.txt").write_text("".join(f"{line}\n" for line in lines))
    return source


def environment_plan(deployment_folder: Path, source: str) -> InstallPlan:
    """The install plan of a deployment revision's environment (the same cache as apps)."""
    if source == "project":
        return plan_install(detect_builder(deployment_folder / "code"))
    root = (deployment_folder / "environment").resolve()
    markers = ("requirements.txt",) if source in ("requirements", "conda_file", "model") else ()
    return plan_install(PythonProject(root=root, markers=markers))

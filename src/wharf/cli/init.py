"""``wharf init``: create a model project from the template, asking on a terminal."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from wharf.cli._output import console, print_success
from wharf.errors import Invalid

# wharf.services.projects (the project template) is imported where it is used, so that other
# commands and `wharf --help` do not load it.


def _is_interactive() -> bool:
    return sys.stdin.isatty()


def _ask_license(default: str) -> str:
    from wharf.services.projects import LICENSES, resolve_license

    for number, name in enumerate(LICENSES, start=1):
        console.print(f"  {number} - {name}", highlight=False)
    answer: str = typer.prompt(
        f"Licence [1-{len(LICENSES)}]", default=str(LICENSES.index(default) + 1)
    )
    return resolve_license(answer)


def init(
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="folder to create the project in")
    ] = Path("."),
    no_input: Annotated[
        bool, typer.Option("--no-input", help="never ask: use the flags and the defaults")
    ] = False,
    project_name: Annotated[
        str | None, typer.Option(help="the project's name, e.g. 'Churn Model'")
    ] = None,
    repo_name: Annotated[
        str | None,
        typer.Option(help="its folder and repository name [the name, lower case, spaces to _]"),
    ] = None,
    author_name: Annotated[str | None, typer.Option(help="who writes it")] = None,
    description: Annotated[str | None, typer.Option(help="one line on what it predicts")] = None,
    license_: Annotated[
        str | None,
        typer.Option("--license", help="'No license file', 'GNU GPLv3', 'MIT' or 'BSD-3-Clause'"),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="write into the project folder if it exists")
    ] = False,
) -> None:
    """Create a model project: predict function, Flask app, gunicorn and S2I settings,
    notebooks and tests. Asks for what the flags leave out when run on a terminal."""
    from wharf.services.projects import (
        ProjectAnswers,
        derive_repo_name,
        read_template_defaults,
        render_project,
        resolve_license,
    )

    defaults = read_template_defaults()
    ask = not no_input and _is_interactive()
    if ask and project_name is None:
        project_name = typer.prompt("Project name", default=defaults.project_name)
    if project_name is None:
        project_name = defaults.project_name
    elif not project_name.strip():  # given but empty: a mistake, not a wish for the default
        raise Invalid("--project-name is empty: give the project a name, e.g. 'Churn Model'")
    if ask and repo_name is None:
        repo_name = typer.prompt("Folder name", default=derive_repo_name(project_name))
    if ask and author_name is None:
        author_name = typer.prompt("Author", default=defaults.author_name)
    if ask and description is None:
        description = typer.prompt("Description", default=defaults.description)
    if license_ is not None:
        chosen_license = resolve_license(license_)
    elif ask:
        chosen_license = _ask_license(defaults.open_source_license)
    else:
        chosen_license = defaults.open_source_license
    answers = ProjectAnswers(
        project_name=project_name,
        repo_name=repo_name,
        author_name=author_name if author_name is not None else defaults.author_name,
        description=description if description is not None else defaults.description,
        open_source_license=chosen_license,
    )
    missing = not output_dir.exists()
    project = render_project(answers, output_dir, overwrite=overwrite)
    if missing:
        print_success(f"created the folder {output_dir} (it did not exist)")
    print_success(f"created {project}")
    console.print(
        "Next: write predict() in prediction.py, open 0_start_here.ipynb, then\n"
        f"  cd {project}\n  wharf serve --port 5000",
        highlight=False,
    )

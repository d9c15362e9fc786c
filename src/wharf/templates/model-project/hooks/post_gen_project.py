"""Drop the LICENSE file when the project was asked to have none."""

from pathlib import Path

if r"""{{ cookiecutter.open_source_license }}""" == "No license file":
    Path("LICENSE").unlink()

"""Refuse a folder name that cannot be one folder (plain ``cookiecutter`` runs this too)."""

import sys

# Triple quotes so that a name with a quote in it still makes valid Python.
REPO_NAME = r"""{{ cookiecutter.repo_name }}"""

if not REPO_NAME.strip() or "/" in REPO_NAME or "\\" in REPO_NAME or REPO_NAME in (".", ".."):
    sys.exit(f"ERROR: {REPO_NAME!r} is not a usable folder name: choose another repo_name.")

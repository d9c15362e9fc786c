"""Make the project's modules (``prediction``, ``wsgi``) importable from the tests."""

import sys
from pathlib import Path

# The project is a folder of modules, not an installed package: put its root on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

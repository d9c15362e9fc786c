"""Tiny wheels written by hand, and PEP 503 simple index pages that list them: packages that
installs in tests take from a folder or a loopback server, never from a public index."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path


def write_wheel(
    folder: Path, name: str, version: str, *, source: str = "", requires: Sequence[str] = ()
) -> Path:
    """A pure-Python wheel of ``name`` holding one module (``source``), written into ``folder``."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {requirement}\n" for requirement in requires)
    files = {
        f"{dist}.py": source,
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in [*files, f"{info}/RECORD"])
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def write_simple_page(index: Path, name: str, wheels: Sequence[Path]) -> None:
    """``index/<name>/index.html``: the project's page of a simple index, listing ``wheels``
    (kept in a folder beside ``index``: relative links work from a folder and over HTTP)."""
    page = index / name
    page.mkdir(parents=True, exist_ok=True)
    links = "".join(
        f'<a href="{Path("..", "..", wheel.parent.name, wheel.name).as_posix()}">{wheel.name}</a>\n'
        for wheel in wheels
    )
    (page / "index.html").write_text(f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n")

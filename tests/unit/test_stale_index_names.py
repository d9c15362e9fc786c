"""Which packages a failed uv install found no version of, read from real uv messages: uv is
run here against a simple index in a folder, with wheels written by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.wheels import write_simple_page, write_wheel
from wharf.build.stale_index import packages_without_version
from wharf.build.uv import UvResult, run_uv, uv_environment

# A project whose in-tree build backend fails, printing the words of a resolver's verdict.
FAILING_BACKEND = """\
def build_wheel(*args, **kwargs):
    raise SystemExit("Because there is no version of tiny-stale==2.0, this build fails")

get_requires_for_build_wheel = prepare_metadata_for_build_wheel = build_wheel
"""


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tiny-stale`` 1.0 only; ``tiny-empty`` with no files; ``tiny-dep`` needs tiny-stale 2.0."""
    root = tmp_path_factory.mktemp("index")
    files, simple = root / "files", root / "simple"
    write_simple_page(simple, "tiny-stale", [write_wheel(files, "tiny-stale", "1.0")])
    write_simple_page(simple, "tiny-empty", [])
    dep = write_wheel(files, "tiny-dep", "1.0", requires=["Tiny_Stale==2.0"])
    write_simple_page(simple, "tiny-dep", [dep])
    return simple


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("venv")
    assert uv(path, ["venv", "--quiet", "--no-project", str(path)]).returncode == 0
    return path


def uv(cwd: Path, args: list[str], **env: str) -> UvResult:
    return run_uv(args, cwd=cwd, env={**uv_environment({}), **env}, log=lambda line: None)


def install(venv: Path, index_url: str, *requirements: str, **env: str) -> UvResult:
    args = ["pip", "install", "--python", str(venv / "bin" / "python"), "--index-url", index_url]
    return uv(venv, [*args, *requirements], **env)


@pytest.mark.parametrize(
    ("requirements", "named"),
    [
        (["tiny-stale==2.0"], ("tiny-stale",)),  # "there is no version of tiny-stale==2.0"
        (["Tiny.Stale[fast]==2.0"], ("tiny-stale",)),  # extras and spelling are not the name
        (["tiny-empty"], ("tiny-empty",)),  # "there are no versions of tiny-empty"
        (["tiny-dep"], ("tiny-stale",)),  # a dependency's pin: the dependency's page is read
        (["tiny-stale==1.0"], ()),  # installs
        (["tiny-gone==1.0"], ()),  # "not found in the package registry": no page to refresh
        (["tiny-stale>=2"], ("tiny-stale",)),  # "only tiny-stale==1.0 is available"
    ],
)
def test_the_packages_uv_found_no_version_of(
    index: Path, venv: Path, requirements: list[str], named: tuple[str, ...]
) -> None:
    result = install(venv, index.as_uri(), "--dry-run", *requirements)
    assert packages_without_version(result) == named, result.output


def test_a_refused_connection_names_no_package(venv: Path) -> None:
    result = install(venv, "http://127.0.0.1:1/simple", "tiny-stale==2.0", UV_HTTP_RETRIES="0")
    assert result.returncode != 0
    assert any("Connection refused" in line for line in result.output), result.output
    assert packages_without_version(result) == ()


def test_a_failed_build_that_prints_the_words_names_no_package(
    index: Path, venv: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "backend.py").write_text(FAILING_BACKEND)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "failing"\nversion = "1.0"\n'
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
    )
    result = install(venv, index.as_uri(), str(project))  # not dry: the build must run
    assert any("no version of tiny-stale==2.0" in line for line in result.output), result.output
    assert packages_without_version(result) == ()

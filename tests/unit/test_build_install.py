"""What decides an environment's content: requirements lines, includes, local paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wharf.build.detect import detect_builder
from wharf.build.install import hash_tree, plan_install
from wharf.build.pipfile import convert_pipfile_lock
from wharf.build.requirements import read_requirements
from wharf.errors import Invalid


def project_with(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "project"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def fingerprint(root: Path) -> str:
    return plan_install(detect_builder(root)).fingerprint


def test_comments_blank_lines_and_code_do_not_change_the_fingerprint(tmp_path: Path) -> None:
    root = project_with(tmp_path, {"requirements.txt": "flask==3.1.3\n", "wsgi.py": "a = 1\n"})
    before = fingerprint(root)
    (root / "requirements.txt").write_text("# the web framework\n\nflask==3.1.3  # pinned\n")
    (root / "wsgi.py").write_text("a = 2\n")
    (root / "prediction.py").write_text("def predict(args): return {}\n")
    assert fingerprint(root) == before


def test_a_changed_pin_changes_the_fingerprint(tmp_path: Path) -> None:
    root = project_with(tmp_path, {"requirements.txt": "flask==3.1.3\n"})
    before = fingerprint(root)
    (root / "requirements.txt").write_text("flask==3.1.2\n")
    assert fingerprint(root) != before


def test_included_files_count(tmp_path: Path) -> None:
    root = project_with(
        tmp_path,
        {"requirements.txt": "-r base.txt\n-c constraints.txt\n", "base.txt": "flask\n",
         "constraints.txt": "flask==3.1.3\n"},
    )  # fmt: skip
    before = fingerprint(root)
    (root / "constraints.txt").write_text("flask==3.1.2\n")
    assert fingerprint(root) != before
    found = read_requirements(root / "requirements.txt")
    assert found.lines == ["-r", "flask", "-c", "flask==3.1.2"]
    assert len(found.files) == 3


def test_line_continuations_are_joined(tmp_path: Path) -> None:
    root = project_with(tmp_path, {"requirements.txt": "flask==3.1.3 \\\n    --hash=sha256:abc\n"})
    assert read_requirements(root / "requirements.txt").lines == [
        "flask==3.1.3     --hash=sha256:abc"
    ]


def test_local_paths_make_their_content_count(tmp_path: Path) -> None:
    root = project_with(
        tmp_path, {"requirements.txt": "-e ./lib\n", "lib/setup.py": "", "lib/pkg.py": "x = 1\n"}
    )
    before = fingerprint(root)
    assert read_requirements(root / "requirements.txt").local_paths == [(root / "lib").resolve()]
    (root / "lib" / "pkg.py").write_text("x = 2\n")
    assert fingerprint(root) != before


def test_the_fingerprint_does_not_depend_on_where_the_project_is(tmp_path: Path) -> None:
    files = {"requirements.txt": "-e .\n", "setup.py": "", "app.py": ""}
    one = project_with(tmp_path / "a", files)
    two = project_with(tmp_path / "b", files)
    assert plan_install(detect_builder(one)).fingerprint == fingerprint(two)


def test_setup_py_installs_the_project_unless_disabled(tmp_path: Path) -> None:
    root = project_with(tmp_path, {"requirements.txt": "flask\n", "setup.py": ""})
    plan = plan_install(detect_builder(root))
    assert plan.install_project
    assert plan.summary == "requirements.txt + the project itself (setup.py)"
    disabled = plan_install(detect_builder(root), build_env={"DISABLE_SETUP_PY_PROCESSING": "1"})
    assert not disabled.install_project


def test_a_tool_only_pyproject_is_not_installed(tmp_path: Path) -> None:
    root = project_with(
        tmp_path,
        {"requirements.txt": "flask\n", "pyproject.toml": "[tool.ruff]\nline-length = 99\n"},
    )
    assert not plan_install(detect_builder(root)).install_project
    (root / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n')
    assert plan_install(detect_builder(root)).install_project


def test_s2i_environment_feeds_the_build_env(tmp_path: Path) -> None:
    root = project_with(
        tmp_path,
        {"requirements.txt": "flask\n", "setup.py": "",
         ".s2i/environment": "DISABLE_SETUP_PY_PROCESSING=1\nPIP_INDEX_URL=http://127.0.0.1:1/simple\n"},
    )  # fmt: skip
    plan = plan_install(detect_builder(root), build_env={"EXTRA": "yes"})
    assert not plan.install_project
    assert plan.build_env["PIP_INDEX_URL"] == "http://127.0.0.1:1/simple"
    assert plan.build_env["EXTRA"] == "yes"


def test_a_missing_include_is_invalid(tmp_path: Path) -> None:
    root = project_with(tmp_path, {"requirements.txt": "-r missing.txt\n"})
    with pytest.raises(Invalid, match=r"missing\.txt does not exist"):
        plan_install(detect_builder(root))


def test_pipfile_lock_becomes_pinned_requirements(tmp_path: Path) -> None:
    lock = {
        "_meta": {"hash": {"sha256": "x"}},
        "default": {
            "flask": {"version": "==3.1.3", "hashes": []},
            "requests": {
                "version": "==2.32.3",
                "extras": ["socks"],
                "markers": "python_version >= '3.8'",
            },
            "tool": {"git": "https://example.invalid/tool.git", "ref": "abc123"},
        },
        "develop": {"pytest": {"version": "==8.3.0"}},
    }  # fmt: skip
    root = project_with(tmp_path, {"Pipfile.lock": json.dumps(lock)})
    assert convert_pipfile_lock(root / "Pipfile.lock").splitlines() == [
        "flask==3.1.3",
        "requests[socks]==2.32.3 ; python_version >= '3.8'",
        "tool @ git+https://example.invalid/tool.git@abc123",
    ]
    plan = plan_install(detect_builder(root))
    assert plan.summary == "Pipfile.lock"
    assert plan.generated_requirements is not None
    assert "pytest" not in plan.generated_requirements


def test_a_broken_pipfile_lock_is_invalid(tmp_path: Path) -> None:
    root = project_with(tmp_path, {"Pipfile.lock": "{not json"})
    with pytest.raises(Invalid, match="not valid JSON"):
        plan_install(detect_builder(root))


def test_hash_tree_skips_caches_and_vcs(tmp_path: Path) -> None:
    root = project_with(tmp_path, {"a.py": "1"})
    before = hash_tree(root)
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref")
    assert hash_tree(root) == before
    (root / "b.py").write_text("2")
    assert hash_tree(root) != before

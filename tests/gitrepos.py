"""Real git repositories for tests: made with the git command line, served as file:// URLs."""

from __future__ import annotations

import subprocess
from pathlib import Path

GIT_IDENTITY = ["-c", "user.name=Test", "-c", "user.email=test@wharf.invalid"]


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=repo, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def make_repo(path: Path, files: dict[str, str], *, branch: str = "trunk") -> str:
    """A repository at ``path`` with ``files`` committed on ``branch``; returns its URL."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "-b", branch)
    commit_files(path, files, "first commit")
    return path.as_uri()


def commit_files(repo: Path, files: dict[str, str], message: str) -> str:
    """Write and commit ``files``; returns the new commit's SHA."""
    for name, content in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD")

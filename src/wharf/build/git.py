"""Git sources: check a remote when an app is created, fetch its source for a build.

Git runs as a child process with prompts switched off, so a private repository without
credentials fails at once with git's own message instead of waiting for a password.
Credentials reach git through files that only its child processes read (an askpass program,
an SSH key file), never through its arguments or environment, so they appear in no process
list and no log.

What a user gives (a URL, a ref, a commit) never reaches git as an option: URLs are checked
against the transports Wharf speaks (:func:`check_git_url`), refs and commits against git's
own rules (:func:`check_git_revision`), ``--`` ends the options of every call, and
``GIT_ALLOW_PROTOCOL`` limits git itself to the URL's transport (so no ``ext::`` helper and
no redirect to another transport ever runs).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from wharf.build.uv import Log
from wharf.errors import Invalid

GIT_TIMEOUT = 120.0
_QUIET_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "/bin/false",
    "SSH_ASKPASS": "/bin/false",
    "GIT_SSH_COMMAND": "ssh -o BatchMode=yes -o ConnectTimeout=15",
    "GIT_CONFIG_NOSYSTEM": "1",
    "LC_ALL": "C",
}
_REMOTE_PROTOCOLS = "https:http:ssh"
_LOCAL_PROTOCOLS = "file"
# git@host:path (scp-like SSH): a user, a host, then a path that is not an option.
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._~][A-Za-z0-9._~-]*@[A-Za-z0-9][A-Za-z0-9.-]*:(?!-)\S+$")
_HEX = re.compile(r"^[0-9a-fA-F]{7,64}$")
MAX_URL_LENGTH = 2048
MAX_REF_LENGTH = 255


@dataclass(frozen=True)
class GitUrl:
    """A git URL that passed :func:`check_git_url`: ``kind`` is ``https``, ``http``, ``ssh``
    or ``local``."""

    url: str
    kind: str

    @property
    def protocols(self) -> str:
        """What ``GIT_ALLOW_PROTOCOL`` lets git use for this URL."""
        return _LOCAL_PROTOCOLS if self.kind == "local" else _REMOTE_PROTOCOLS


def check_git_url(url: str, *, allow_local: bool) -> GitUrl:
    """``url`` if git may be pointed at it: ``https://``, ``http://``, ``ssh://``,
    ``user@host:path``, or (``allow_local``) ``file://`` and absolute paths. Nothing that git
    could read as an option or as another transport (``ext::``, ``fd::``) passes."""

    def refuse(reason: str) -> Invalid:
        return Invalid(f"git URL {url[:200]!r} is not accepted: {reason}", field="git")

    if not url or len(url) > MAX_URL_LENGTH:
        raise refuse(f"give 1-{MAX_URL_LENGTH} characters")
    if url.startswith("-"):
        raise refuse("it starts with '-', which git would read as an option")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise refuse("it holds spaces or control characters")
    scheme = url.split("://", 1)[0].lower() if "://" in url else None
    if scheme in ("https", "http", "ssh"):
        try:
            parts = urlsplit(url)
            host, user = parts.hostname, parts.username
        except ValueError:
            host, user = None, None
        # ssh would read "-oProxyCommand=..." as an option, whether in the host or the user.
        if not host or host.startswith("-") or (user or "").startswith("-"):
            raise refuse("it has no valid host")
        return GitUrl(url, scheme)
    if scheme is None and _SCP_LIKE.fullmatch(url):
        return GitUrl(url, "ssh")
    if scheme == "file" or (scheme is None and url.startswith("/")):
        if not allow_local:
            raise Invalid(
                "this server does not build from its own disk (WHARF_ALLOW_LOCAL_GIT is off): "
                "give an https:// or ssh:// URL of a git host",
                field="git",
            )
        return GitUrl(url, "local")
    raise refuse("use https://, ssh://, git@host:path (or http://)")


def clear_text_warning(url: GitUrl, credentials: GitCredentials | None) -> str | None:
    """A warning when git would send a password over plain ``http://``, else None."""
    if url.kind != "http" or credentials is None or credentials.password is None:
        return None
    return (
        f"warning: {url.url} is plain http: the source secret's password is sent unencrypted "
        "to the git host; use an https:// URL"
    )


def check_git_revision(value: str, *, field: str) -> str:
    """``value`` if it is a commit SHA (7-64 hex digits) or a ref name git accepts
    (``git check-ref-format``); Invalid naming ``field`` otherwise."""
    if _HEX.fullmatch(value):
        return value
    problem = None
    if not value or len(value) > MAX_REF_LENGTH:
        problem = f"give 1-{MAX_REF_LENGTH} characters"
    elif value.startswith("-"):
        problem = "it starts with '-', which git would read as an option"
    else:
        result = _run_git(["check-ref-format", "--allow-onelevel", value], protocols="")
        if result.returncode != 0:
            problem = "git does not accept it as a ref name"
    if problem:
        raise Invalid(
            f"{field} {value[:100]!r} is not a commit SHA or a ref name: {problem}", field=field
        )
    return value


@dataclass(frozen=True)
class RemoteInfo:
    """What ``git ls-remote`` says about a repository."""

    default_branch: str | None
    branches: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class GitCredentials:
    """How to authenticate to a private repository: a username and password (or token) for
    https, or an SSH private key with, optionally, the known host keys to check against."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssh_private_key: str | None = field(default=None, repr=False)
    known_hosts: str | None = None


_ASKPASS = """#!/bin/sh
# Wharf's answer to git's credential prompts; the values stay in files beside this one.
case "$1" in
  [Uu]sername*) exec cat "$(dirname "$0")/username" ;;
  *) exec cat "$(dirname "$0")/password" ;;
esac
"""


def _write_private(path: Path, text: str, mode: int = 0o600) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


@contextmanager
def credentials_env(credentials: GitCredentials | None) -> Iterator[dict[str, str]]:
    """Environment variables that make git use ``credentials``, valid inside the block.

    The secret values are written to a private temporary folder (mode 0700, files 0600)
    that is removed when the block ends.
    """
    if credentials is None:
        yield {}
        return
    folder = Path(tempfile.mkdtemp(prefix="wharf-git-"))
    try:
        # No credential helper may keep what git is told (a global "store" helper would).
        env = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "credential.helper"}
        env["GIT_CONFIG_VALUE_0"] = ""
        if credentials.password is not None:
            _write_private(folder / "username", (credentials.username or "git") + "\n")
            _write_private(folder / "password", credentials.password + "\n")
            _write_private(folder / "askpass", _ASKPASS, 0o700)
            env["GIT_ASKPASS"] = str(folder / "askpass")
        if credentials.ssh_private_key is not None:
            key = credentials.ssh_private_key.strip() + "\n"
            _write_private(folder / "id_key", key)
            known = folder / "known_hosts"
            _write_private(known, credentials.known_hosts or "")
            # Without known hosts the server's key is not checked (as OpenShift does).
            checking = "yes" if credentials.known_hosts else "no"
            env["GIT_SSH_COMMAND"] = shlex.join(
                [
                    "ssh",
                    "-i",
                    str(folder / "id_key"),
                    "-o",
                    "IdentitiesOnly=yes",
                    "-o",
                    "BatchMode=yes",
                    "-o",
                    "ConnectTimeout=15",
                    "-o",
                    f"UserKnownHostsFile={known}",
                    "-o",
                    f"StrictHostKeyChecking={checking}",
                ]
            )
        yield env
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _git_env(extra: Mapping[str, str] | None, protocols: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(_QUIET_ENV)
    env.update(extra or {})
    # Set last: the credentials' environment cannot widen what git may speak.
    env["GIT_ALLOW_PROTOCOL"] = protocols
    return env


def _run_git(
    args: list[str],
    *,
    protocols: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = GIT_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-c", "protocol.ext.allow=never", *args],
            cwd=cwd,
            env=_git_env(env, protocols),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise Invalid(f"git {args[0]} did not finish within {timeout:.0f} s") from exc
    except FileNotFoundError as exc:
        raise Invalid("git is not installed on the Wharf server") from exc


def _last_line(text: str) -> str:
    """Git's reason: its first ``fatal:``/``error:`` line, not the generic advice it ends
    with ("Please make sure you have the correct access rights and the repository exists.")."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("fatal:", "error:")) and "Could not read from remote" not in line:
            return line.removeprefix("fatal: ").removeprefix("error: ")
    return lines[-1] if lines else "no output"


def inspect_remote(url: GitUrl, *, env: Mapping[str, str] | None = None) -> RemoteInfo:
    """Branches, tags and the default branch of ``url``; Invalid when it cannot be read."""
    result = _run_git(
        ["ls-remote", "--symref", "--", url.url], protocols=url.protocols, env=env, timeout=60
    )
    if result.returncode != 0:
        raise Invalid(
            f"cannot read the git repository {url.url}: {_last_line(result.stderr)}",
            field="git",
        )
    default = None
    branches, tags = [], []
    for line in result.stdout.splitlines():
        if line.startswith("ref: ") and line.endswith("\tHEAD"):
            default = line[5:].split("\t", 1)[0].removeprefix("refs/heads/")
            continue
        name = line.split("\t", 1)[-1]
        if name.startswith("refs/heads/"):
            branches.append(name.removeprefix("refs/heads/"))
        elif name.startswith("refs/tags/") and not name.endswith("^{}"):
            tags.append(name.removeprefix("refs/tags/"))
    return RemoteInfo(default, tuple(sorted(branches)), tuple(sorted(tags)))


def choose_ref(url: str, info: RemoteInfo, ref: str | None) -> str:
    """The ref to build: the one asked for if the remote has it, else the default branch."""
    if ref is None:
        if info.default_branch is None:
            if not info.branches:
                raise Invalid(f"the git repository {url} has no branches yet: push one first")
            raise Invalid(f"the git repository {url} has no default branch: give --ref")
        return info.default_branch
    check_git_revision(ref, field="ref")
    if ref in info.branches or ref in info.tags or looks_like_commit(ref):
        return ref
    known = ", ".join(info.branches) or "none"
    raise Invalid(f"ref {ref!r} does not exist in {url} (branches: {known})", field="ref")


def looks_like_commit(ref: str) -> bool:
    """A hex SHA (abbreviated or full), as opposed to a branch or tag name."""
    return _HEX.fullmatch(ref) is not None


def fetch_source(
    url: GitUrl,
    ref: str,
    destination: Path,
    *,
    commit: str | None = None,
    env: Mapping[str, str] | None = None,
    log: Log,
) -> str:
    """Check out ``commit`` (or the tip of ``ref``) of ``url`` into ``destination``.

    Returns the full commit SHA. Only that commit's tree is kept (no history beyond it).
    """
    revision = check_git_revision(commit, field="commit") if commit else None
    revision = revision or check_git_revision(ref, field="ref")
    destination.mkdir(parents=True, exist_ok=True)
    here = ["-C", str(destination)]
    fetch = ["fetch", "--quiet", "--no-recurse-submodules", "--depth", "1"]
    steps = [
        ["init", "--quiet", "--", str(destination)],
        [*here, *fetch, "--", url.url, revision],
        [*here, "checkout", "--quiet", "--detach", "FETCH_HEAD", "--"],
    ]
    for step in steps:
        result = _run_git(step, protocols=url.protocols, env=env)
        if result.returncode != 0:
            target = f"commit {commit}" if commit else f"ref {ref!r}"
            raise Invalid(f"cannot fetch {target} of {url.url}: {_last_line(result.stderr)}")
    sha = _run_git([*here, "rev-parse", "HEAD"], protocols="").stdout.strip()
    subject = _run_git([*here, "log", "-1", "--format=%s", "--"], protocols="").stdout.strip()
    log(f"checked out {sha[:12]} ({subject})")
    return sha


def list_folders(url: GitUrl, ref: str, *, env: Mapping[str, str] | None = None) -> list[str]:
    """Every folder in the tree at the tip of ``ref`` of ``url`` (``a``, ``a/b``, ...), read
    without file contents (a treeless, depth-1 fetch into a scratch repository)."""
    return _read_tree(url, ref, ["-r", "-d", "--name-only", "FETCH_HEAD", "--"], env)


def list_files(
    url: GitUrl, ref: str, folder: str = "", *, env: Mapping[str, str] | None = None
) -> list[str]:
    """The names of the files directly in ``folder`` at the tip of ``ref`` of ``url``, read
    the same way as :func:`list_folders`."""
    tree = f"FETCH_HEAD:{folder.strip('/')}" if folder.strip("/") else "FETCH_HEAD"
    entries = _read_tree(url, ref, ["--full-tree", tree], env)
    # "<mode> <type> <object>\t<name>": keep the blobs.
    return [line.split("\t", 1)[1] for line in entries if line.split(" ", 2)[1:2] == ["blob"]]


def _read_tree(
    url: GitUrl, ref: str, ls_tree: list[str], env: Mapping[str, str] | None
) -> list[str]:
    revision = check_git_revision(ref, field="ref")
    with tempfile.TemporaryDirectory(prefix="wharf-tree-") as scratch:
        here = ["-C", scratch]
        fetch = ["fetch", "--quiet", "--no-recurse-submodules", "--depth", "1"]
        steps = [
            (["init", "--quiet", "--bare", "--", scratch], ""),
            ([*here, *fetch, "--filter=blob:none", "--", url.url, revision], url.protocols),
            ([*here, "ls-tree", *ls_tree], ""),
        ]
        result = None
        for step, protocols in steps:
            result = _run_git(step, protocols=protocols, env=env)
            if result.returncode != 0:
                raise Invalid(f"cannot read ref {ref!r} of {url.url}: {_last_line(result.stderr)}")
        assert result is not None
        return result.stdout.splitlines()

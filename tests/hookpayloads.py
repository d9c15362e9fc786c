"""What git hosts send to a webhook on a push, signed the way each one signs, for tests."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

SIGNING = "a-shared-signing-secret"


def github_push(repo: Path, sha: str, ref: str = "refs/heads/trunk") -> dict[str, Any]:
    return {
        "ref": ref,
        "before": "0" * 40,
        "after": sha,
        "deleted": False,
        "repository": {"clone_url": repo.as_uri(), "default_branch": "trunk"},
        "head_commit": {"id": sha, "message": "change"},
    }


def signed(body: bytes, secret: str = SIGNING) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def provider_request(
    provider: str, repo: Path, sha: str, branch: str = "trunk"
) -> tuple[bytes, dict[str, str]]:
    """What each git host sends for a push of ``sha`` to ``branch``, signed with SIGNING."""
    payload: dict[str, Any]
    if provider == "github":
        body = json.dumps(github_push(repo, sha, f"refs/heads/{branch}")).encode()
        headers = {
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": f"gh-{sha}",
            "X-Hub-Signature-256": signed(body),
        }
    elif provider == "gitlab":
        payload = {
            "object_kind": "push",
            "ref": f"refs/heads/{branch}",
            "before": "0" * 40,
            "after": sha,
            "checkout_sha": sha,
            "project": {"git_http_url": repo.as_uri()},
        }
        body = json.dumps(payload).encode()
        headers = {
            "X-Gitlab-Event": "Push Hook",
            "X-Gitlab-Token": SIGNING,
            "X-Gitlab-Event-UUID": f"gl-{sha}",
        }
    elif provider == "gitea":
        payload = {"ref": f"refs/heads/{branch}", "after": sha, "before": "0" * 40}
        body = json.dumps(payload).encode()
        headers = {
            "X-Gitea-Event": "push",
            "X-Gitea-Delivery": f"gt-{sha}",
            "X-Gitea-Signature": signed(body).removeprefix("sha256="),
        }
    elif provider == "bitbucket":
        change = {
            "new": {"type": "branch", "name": branch, "target": {"hash": sha}},
            "old": {"type": "branch", "name": branch, "target": {"hash": "1" * 40}},
        }
        body = json.dumps({"push": {"changes": [change]}}).encode()
        headers = {
            "X-Event-Key": "repo:push",
            "X-Request-UUID": f"bb-{sha}",
            "X-Hub-Signature": signed(body),
        }
    else:
        body = json.dumps(
            {"git": {"uri": repo.as_uri(), "ref": f"refs/heads/{branch}", "commit": sha}}
        ).encode()
        headers = {"X-Hub-Signature-256": signed(body)}
    return body, {"Content-Type": "application/json", **headers}

"""Webhooks through the API: each provider's push builds exactly the pushed commit; pings,
other branches, tags, repeats, wrong secrets and malformed bodies do not; bursts coalesce."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from tests.conftest import Server
from tests.gitrepos import commit_files, make_repo
from tests.hookpayloads import SIGNING, github_push, provider_request, signed
from wharf.api.routers.hooks import RedactHookSecrets
from wharf.sdk import Client
from wharf.services import apps, builds, workspaces


@pytest.fixture
def hooked(server: Server, admin: Client, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """An app on branch ``trunk`` whose Build #1 is cancelled, with builds left waiting (the
    build runner is stopped, so the tests see exactly what the webhooks queue)."""
    server.platform.build_runner.stop()
    repo = tmp_path / "model"
    make_repo(repo, {"requirements.txt": "\n", "app.py": "print('hi')\n"})
    admin.apps.create(repo.as_uri(), name="model", route={"enabled": False})
    admin.builds.cancel("model", 1)
    urls = admin.apps.webhook_urls("model").urls
    # The in-process transport answers any host: keep the path only.
    return repo, {provider: urlsplit(url).path for provider, url in urls.items()}


def post_github(
    server: Server,
    path: str,
    payload: dict[str, Any],
    *,
    event: str = "push",
    delivery: str | None = None,
    signature: str | None = None,
    form: bool = False,
) -> Any:
    if form:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        content_type = "application/x-www-form-urlencoded"
    else:
        body = json.dumps(payload).encode()
        content_type = "application/json"
    headers = {"Content-Type": content_type, "X-GitHub-Event": event}
    if delivery:
        headers["X-GitHub-Delivery"] = delivery
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return server.http.post(path, content=body, headers=headers)


def build_list(admin: Client) -> list[tuple[int, str, str | None, str]]:
    return [(b.number, b.phase, b.commit_sha, b.trigger) for b in admin.builds.list("model")]


def test_a_signed_github_push_builds_exactly_the_pushed_commit(
    server: Server, admin: Client, hooked: tuple[Path, dict[str, str]]
) -> None:
    repo, paths = hooked
    admin.apps.set_webhook_signing_secret("model", SIGNING)
    sha = commit_files(repo, {"app.py": "print('v2')\n"}, "v2")
    payload = json.dumps(github_push(repo, sha)).encode()
    answer = server.http.post(
        paths["github"],
        content=payload,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": "d-1",
            "X-Hub-Signature-256": signed(payload),
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "result": "queued",
        "detail": f"build #2 of {sha[:12]}",
        "build": 2,
        "commit_sha": sha,
    }
    assert build_list(admin)[0] == (2, "Pending", sha, "webhook:github")
    (delivery,) = admin.apps.webhook_deliveries("model")
    assert (delivery.provider, delivery.event, delivery.delivery_id) == ("github", "push", "d-1")
    assert (delivery.result, delivery.build, delivery.commit_sha) == ("queued", 2, sha)


def test_github_form_encoded_payloads_work_too(
    server: Server, admin: Client, hooked: tuple[Path, dict[str, str]]
) -> None:
    repo, paths = hooked
    sha = commit_files(repo, {"app.py": "print('form')\n"}, "form")
    answer = post_github(server, paths["github"], github_push(repo, sha), form=True)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["build"], answer.json()["commit_sha"]) == (2, sha)
    # JSON under curl's default form content type (curl -d '{...}') is read as JSON.
    as_curl = server.http.post(
        paths["github"],
        content=json.dumps(github_push(repo, sha)).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-GitHub-Event": "push"},
    )
    assert as_curl.json()["result"] == "coalesced", as_curl.text
    empty_form = server.http.post(
        paths["github"],
        content=b"other=1",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-GitHub-Event": "push"},
    )
    assert empty_form.status_code == 400
    assert empty_form.json()["detail"] == "the form body has no 'payload' field"


def test_ping_other_branches_tags_and_other_events_build_nothing(
    server: Server, admin: Client, hooked: tuple[Path, dict[str, str]]
) -> None:
    repo, paths = hooked
    sha = commit_files(repo, {"app.py": "print('x')\n"}, "x")
    ping = post_github(server, paths["github"], {"zen": "Keep it simple."}, event="ping")
    assert (ping.status_code, ping.json()["result"]) == (200, "ignored")
    assert "pong" in ping.json()["detail"]
    other = post_github(server, paths["github"], github_push(repo, sha, "refs/heads/feature"))
    assert other.status_code == 200
    assert other.json() == {
        "result": "skipped",
        "detail": "push to branch feature; the app builds branch trunk",
        "build": None,
        "commit_sha": None,
    }
    tag = post_github(server, paths["github"], github_push(repo, sha, "refs/tags/v1.0"))
    assert tag.json()["result"] == "skipped"
    assert "tag v1.0" in tag.json()["detail"]
    issue = post_github(server, paths["github"], {"action": "opened"}, event="issues")
    assert issue.json() == {
        "result": "ignored",
        "detail": "issues events do not build",
        "build": None,
        "commit_sha": None,
    }
    deleted = github_push(repo, "0" * 40) | {"deleted": True}
    gone = post_github(server, paths["github"], deleted)
    assert gone.json()["detail"] == "branch trunk was deleted; nothing to build"
    assert [b[0] for b in build_list(admin)] == [1]
    results = [d.result for d in admin.apps.webhook_deliveries("model")]
    assert results == ["skipped", "ignored", "skipped", "skipped", "ignored"]


def test_a_delivery_seen_before_does_not_build_twice(
    server: Server, admin: Client, hooked: tuple[Path, dict[str, str]]
) -> None:
    repo, paths = hooked
    sha = commit_files(repo, {"app.py": "print('once')\n"}, "once")
    first = post_github(server, paths["github"], github_push(repo, sha), delivery="abc-1")
    again = post_github(server, paths["github"], github_push(repo, sha), delivery="abc-1")
    assert first.json()["result"] == "queued"
    assert again.status_code == 200
    assert again.json()["result"] == "duplicate"
    assert "abc-1" in again.json()["detail"]
    assert [b[0] for b in build_list(admin)] == [2, 1]


def test_wrong_secret_unknown_app_and_malformed_bodies_are_refused(
    server: Server, admin: Client, hooked: tuple[Path, dict[str, str]]
) -> None:
    repo, paths = hooked
    sha = commit_files(repo, {"app.py": "print('no')\n"}, "no")
    wrong = paths["github"].replace("/github", "").rsplit("/", 1)[0] + "/not-the-secret/github"
    refused = post_github(server, wrong, github_push(repo, sha))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "the secret in the webhook URL is wrong"
    unknown = paths["github"].replace("/model/", "/no-such-app/")
    assert post_github(server, unknown, github_push(repo, sha)).status_code == 404
    provider = server.http.post(paths["github"].replace("/github", "/svn"), json={})
    assert provider.status_code == 404
    assert "unknown webhook provider 'svn'" in provider.json()["detail"]

    missing = github_push(repo, sha)
    del missing["after"]
    bad = post_github(server, paths["github"], missing)
    assert bad.status_code == 400
    assert bad.json()["detail"] == "the push payload has no 'after'"
    not_json = server.http.post(
        paths["github"], content=b"{oops", headers={"X-GitHub-Event": "push"}
    )
    assert not_json.status_code == 400
    assert not_json.json()["detail"].startswith("the body is not JSON")
    no_event = server.http.post(paths["github"], json=github_push(repo, sha))
    assert no_event.status_code == 400
    assert no_event.json()["detail"] == "the X-GitHub-Event header is missing"
    bad_sha = post_github(server, paths["github"], github_push(repo, "main"))
    assert bad_sha.json()["detail"] == "'after' is not a commit SHA: 'main'"

    assert [b[0] for b in build_list(admin)] == [1]
    results = [d.result for d in admin.apps.webhook_deliveries("model")]
    assert results == ["rejected"] * 5


def test_signatures_are_checked_when_the_app_has_a_signing_secret(
    server: Server, admin: Client, hooked: tuple[Path, dict[str, str]]
) -> None:
    repo, paths = hooked
    generated = admin.apps.set_webhook_signing_secret("model", generate=True).generated
    assert generated is not None
    assert admin.apps.webhook_urls("model").signing_secret_set
    sha = commit_files(repo, {"app.py": "print('sig')\n"}, "sig")
    payload = github_push(repo, sha)
    unsigned = post_github(server, paths["github"], payload)
    assert unsigned.status_code == 401
    assert "X-Hub-Signature-256 header is missing" in unsigned.json()["detail"]
    forged = post_github(server, paths["github"], payload, signature=signed(b"other"))
    assert forged.status_code == 401
    body = json.dumps(payload).encode()
    good = server.http.post(
        paths["github"],
        content=body,
        headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": signed(body, generated)},
    )
    assert good.status_code == 200, good.text
    gitlab = server.http.post(
        paths["gitlab"],
        json={"object_kind": "push", "ref": "refs/heads/trunk", "after": sha},
        headers={"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "wrong"},
    )
    assert gitlab.status_code == 401
    assert "X-Gitlab-Token" in gitlab.json()["detail"]
    admin.apps.set_webhook_signing_secret("model", None)
    assert not admin.apps.webhook_urls("model").signing_secret_set


@pytest.mark.parametrize("provider", ["gitlab", "gitea", "bitbucket", "generic"])
def test_each_provider_builds_the_pushed_commit_once(
    server: Server, admin: Client, hooked: tuple[Path, dict[str, str]], provider: str
) -> None:
    repo, paths = hooked
    admin.apps.set_webhook_signing_secret("model", SIGNING)
    sha = commit_files(repo, {"app.py": f"print('{provider}')\n"}, provider)
    body, headers = provider_request(provider, repo, sha)
    answer = server.http.post(paths[provider], content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["result"], answer.json()["build"]) == ("queued", 2)
    assert build_list(admin)[0] == (2, "Pending", sha, f"webhook:{provider}")
    if provider != "generic":  # the generic format has no delivery id
        again = server.http.post(paths[provider], content=body, headers=headers)
        assert again.json()["result"] == "duplicate"
    other = commit_files(
        repo,
        {"x.txt": "x"},
        "other branch",
    )
    body, headers = provider_request(provider, repo, other)
    moved = server.http.post(
        paths[provider],
        content=body.replace(b"trunk", b"feature"),
        headers={k: v for k, v in headers.items() if "Signature" not in k and "Token" not in k},
    )
    assert moved.status_code == 401  # the body changed, so the signature must be made again
    admin.apps.set_webhook_signing_secret("model", None)
    moved = server.http.post(
        paths[provider], content=body.replace(b"trunk", b"feature"), headers=headers
    )
    assert moved.json()["result"] == "skipped", moved.text
    assert "branch feature" in moved.json()["detail"]


def test_a_generic_call_without_a_body_builds_the_tip_of_the_branch(
    server: Server, admin: Client, hooked: tuple[Path, dict[str, str]]
) -> None:
    _, paths = hooked
    answer = server.http.post(paths["generic"])
    assert answer.json() == {
        "result": "queued",
        "detail": "build #2 of the tip of trunk",
        "build": 2,
        "commit_sha": None,
    }


def test_a_burst_of_pushes_coalesces_into_one_waiting_build_of_the_newest_commit(
    server: Server, admin: Client, hooked: tuple[Path, dict[str, str]]
) -> None:
    repo, paths = hooked
    shas = [commit_files(repo, {"app.py": f"print({n})\n"}, f"c{n}") for n in range(4)]
    results = [post_github(server, paths["github"], github_push(repo, s)).json() for s in shas]
    assert [r["result"] for r in results] == ["queued", "coalesced", "coalesced", "coalesced"]
    assert {r["build"] for r in results} == {2}
    assert build_list(admin)[0][:3] == (2, "Pending", shas[-1])

    # Build #2 starts; the next pushes wait in one build #3, which builds the newest.
    with server.platform.transaction() as session:
        claimed = builds.claim_next_build(session)
        assert claimed is not None
        assert claimed.number == 2
    more = [commit_files(repo, {"app.py": f"print({n})\n"}, f"d{n}") for n in range(3)]
    results = [post_github(server, paths["github"], github_push(repo, s)).json() for s in more]
    assert [r["build"] for r in results] == [3, 3, 3]
    listed = build_list(admin)
    assert [(b[0], b[1]) for b in listed] == [(3, "Pending"), (2, "Running"), (1, "Cancelled")]
    assert listed[0][2] == more[-1]
    assert listed[1][2] == shas[-1]


def test_rotating_the_secret_retires_the_old_urls(
    server: Server, admin: Client, hooked: tuple[Path, dict[str, str]]
) -> None:
    _, paths = hooked
    rotated = admin.apps.rotate_webhook_secret("model").urls
    new_path = urlsplit(rotated["generic"]).path
    assert new_path != paths["generic"]
    assert server.http.post(paths["generic"]).status_code == 401
    assert server.http.post(new_path).status_code == 200


def test_readers_see_deliveries_but_not_the_secret_urls(
    server: Server, hooked: tuple[Path, dict[str, str]]
) -> None:
    reader = server.client(server.user_with_role("rita", "reader"))
    assert reader.apps.webhook_deliveries("model") == []
    with pytest.raises(Exception, match="builds/write"):
        reader.apps.webhook_urls("model")
    developer = server.client(server.user_with_role("dev", "contributor"))
    assert set(developer.apps.webhook_urls("model").urls) == {
        "github",
        "gitlab",
        "gitea",
        "bitbucket",
        "generic",
    }


def test_apps_made_before_webhooks_get_a_secret_when_first_shown(
    server: Server, admin: Client, hooked: tuple[Path, dict[str, str]]
) -> None:
    with server.platform.transaction() as session:
        found = apps.read_app(session, workspaces.read_workspace(session, "default"), "model")
        found.webhook_secret = None
    first = admin.apps.webhook_urls("model").urls
    assert first == admin.apps.webhook_urls("model").urls
    assert server.http.post(urlsplit(first["generic"]).path).status_code == 200


def test_the_access_log_never_shows_the_secret() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", "/hooks/default/model/s3cr3t-value/github", "1.1", 200),
        None,
    )
    assert RedactHookSecrets().filter(record)
    assert "s3cr3t" not in record.getMessage()
    assert "/hooks/default/model/***/github" in record.getMessage()


def test_concurrent_pushes_leave_one_waiting_build(
    server: Server, admin: Client, hooked: tuple[Path, dict[str, str]]
) -> None:
    repo, paths = hooked
    shas = [commit_files(repo, {"app.py": f"print({n})\n"}, f"p{n}") for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(lambda s: post_github(server, paths["github"], github_push(repo, s)), shas)
        )
    assert all(a.status_code == 200 for a in answers)
    assert sorted(a.json()["result"] for a in answers) == ["coalesced"] * 7 + ["queued"]
    listed = build_list(admin)
    assert [(b[0], b[1]) for b in listed] == [(2, "Pending"), (1, "Cancelled")]
    # The waiting build holds the commit of the push that was handled last.
    last = admin.apps.webhook_deliveries("model")[0]
    assert listed[0][2] == last.commit_sha

"""What git may be pointed at: URLs by transport, refs and commits by git's own rules."""

from __future__ import annotations

import pytest

from wharf.build.git import check_git_revision, check_git_url
from wharf.errors import Invalid

ACCEPTED = [
    ("https://github.com/team/model.git", True, "https"),
    ("http://git.internal:8080/team/model.git", True, "http"),
    ("ssh://git@github.com/team/model.git", True, "ssh"),
    ("git@github.com:team/model.git", True, "ssh"),
    ("file:///srv/git/model.git", True, "local"),
    ("/srv/git/model.git", True, "local"),
]
REFUSED = [
    ("--upload-pack=touch /tmp/x", "starts with '-'"),
    ("-oProxyCommand=touch /tmp/x", "starts with '-'"),
    ("ext::sh -c touch% /tmp/x", "spaces or control"),
    ("ext::sh", "use https://"),
    ("fd::3", "use https://"),
    ("git://github.com/team/model.git", "use https://"),
    ("https://-oProxyCommand=x/repo", "no valid host"),
    ("ssh://-oProxyCommand=touch/x", "no valid host"),
    ("git@host:-bad", "use https://"),
    ("git@-oProxyCommand:repo", "use https://"),
    ("ssh://-oProxyCommand=touch@host/repo", "no valid host"),
    ("https://host/repo\nx", "spaces or control"),
    ("https://host/re\x00po", "spaces or control"),
    ("", "give 1-"),
    ("relative/path", "use https://"),
]


@pytest.mark.parametrize(("url", "allow_local", "kind"), ACCEPTED)
def test_accepted_git_urls(url: str, allow_local: bool, kind: str) -> None:
    assert check_git_url(url, allow_local=allow_local).kind == kind


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_refused_git_urls_name_the_field(url: str, reason: str) -> None:
    with pytest.raises(Invalid, match=reason) as caught:
        check_git_url(url, allow_local=True)
    assert caught.value.extra["field"] == "git"


def test_local_urls_need_the_setting() -> None:
    for url in ("file:///srv/git/model.git", "/srv/git/model.git"):
        with pytest.raises(Invalid, match="WHARF_ALLOW_LOCAL_GIT"):
            check_git_url(url, allow_local=False)


def test_git_may_speak_only_the_urls_own_transport() -> None:
    assert check_git_url("https://host/r.git", allow_local=False).protocols == "https:http:ssh"
    assert check_git_url("/srv/r.git", allow_local=True).protocols == "file"


@pytest.mark.parametrize("value", ["main", "release/1.2", "v1.0.0", "a" * 40, "deadbeef"])
def test_commits_and_ref_names_pass(value: str) -> None:
    assert check_git_revision(value, field="commit") == value


@pytest.mark.parametrize(
    "value",
    [
        "--upload-pack=touch /tmp/x",
        "-x",
        "a..b",
        "main~1",
        "ref with space",
        "x\n",
        "",
        "deadbeef\n",
    ],
)
def test_other_revisions_are_refused(value: str) -> None:
    with pytest.raises(Invalid, match="not a commit SHA or a ref name") as caught:
        check_git_revision(value, field="commit")
    assert caught.value.extra["field"] == "commit"

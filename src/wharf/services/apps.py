"""Apps: online endpoints built from git, with their replicas, limits and route."""

from __future__ import annotations

import json
import re
import secrets as random_secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wharf.build.git import (
    GitCredentials,
    GitUrl,
    RemoteInfo,
    check_git_url,
    choose_ref,
    clear_text_warning,
    credentials_env,
    inspect_remote,
    list_folders,
    looks_like_commit,
)
from wharf.errors import Conflict, Invalid, NotFound
from wharf.runtime.limits import parse_cpu, parse_memory
from wharf.services import app_events, builds
from wharf.services.app_labels import (
    check_group,
    check_labels,
    matches_selector,
    parse_selector,
)
from wharf.services.app_routes import check_route
from wharf.services.naming import check_dns_label
from wharf.services.secrets import SecretBox
from wharf.services.source_secrets import open_source_secret
from wharf.storage.paths import find_path_problem
from wharf.store.models import App, Build, Workspace

MAX_REPLICAS = 20
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

RemoteInspector = Callable[[GitUrl, GitCredentials | None], RemoteInfo]
FolderLister = Callable[[GitUrl, str, GitCredentials | None], list[str]]


def inspect_with_credentials(url: GitUrl, credentials: GitCredentials | None) -> RemoteInfo:
    """``git ls-remote`` of ``url``, authenticated with ``credentials`` when given."""
    with credentials_env(credentials) as env:
        return inspect_remote(url, env=env)


def folders_with_credentials(
    url: GitUrl, ref: str, credentials: GitCredentials | None
) -> list[str]:
    """The folders at the tip of ``ref``, read with ``credentials`` when given."""
    with credentials_env(credentials) as env:
        return list_folders(url, ref, env=env)


def check_context_dir(
    url: GitUrl,
    ref: str,
    context_dir: str,
    credentials: GitCredentials | None,
    folders: FolderLister = folders_with_credentials,
) -> None:
    """Refuse a context dir the repository does not have, naming the folders it does have
    (rather than failing Build #1 later). A commit ref is checked by its build."""
    if not context_dir or looks_like_commit(ref):
        return
    found = folders(url, ref, credentials)
    if context_dir in found:
        return
    top = [f for f in found if "/" not in f]
    near = [f for f in found if f.rsplit("/", 1)[0] == context_dir.rsplit("/", 1)[0]]
    listed = ", ".join((near if "/" in context_dir and near else top)[:20]) or "none"
    raise Invalid(
        f"context dir {context_dir!r} does not exist in {url.url} at {ref!r}; "
        f"its folders: {listed}",
        field="context_dir",
    )


@dataclass(frozen=True)
class RouteSpec:
    """How an app is reached: on by default, at ``{app}-{ws}.{apps_domain}`` and
    ``/apps/{ws}/{app}/``; ``hostname`` and ``path`` add a custom host and path prefix."""

    enabled: bool = True
    hostname: str | None = None
    path: str | None = None
    path_mode: str | None = None
    target_port: int | None = None
    tls: str | None = None
    insecure_policy: str | None = None


@dataclass(frozen=True)
class AppSpec:
    """What a caller gives to create an app."""

    git_url: str
    name: str | None = None
    ref: str | None = None
    context_dir: str = ""
    source_secret: str | None = None
    build_env: Mapping[str, str] = field(default_factory=dict)
    runtime_env: Mapping[str, str] = field(default_factory=dict)
    secret_env: Mapping[str, str] = field(default_factory=dict)
    replicas: int = 1
    cpu: str | None = None
    memory: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    group: str | None = None
    route: RouteSpec = field(default_factory=RouteSpec)


def derive_app_name(git_url: str) -> str:
    """An app name from a repository URL, as OpenShift's import form does:
    ``https://host/team/Heart-Model.git`` → ``heart-model``."""
    last = git_url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    last = last.removesuffix(".git").lower()
    name = re.sub(r"[^a-z0-9-]+", "-", last).strip("-")
    name = re.sub(r"^[^a-z]+", "", name)[:63].rstrip("-")
    if not name:
        raise Invalid(f"cannot derive an app name from {git_url!r}: give --name", field="name")
    return name


def check_env(kind: str, values: Mapping[str, str]) -> dict[str, str]:
    for key in values:
        if not _ENV_NAME.fullmatch(key):
            raise Invalid(
                f"{kind} variable name {key!r} is not valid: use letters, digits and '_', "
                "not starting with a digit",
                field=kind.replace(" ", "_"),
            )
    return {k: str(v) for k, v in values.items()}


def _seal_secret_env(
    box: SecretBox, values: Mapping[str, str], plain: Mapping[str, str]
) -> tuple[list[str], str | None]:
    """The names and the encrypted values of an app's secret env (None when it has none)."""
    checked = check_env("secret env", values)
    both = sorted(set(checked) & set(plain))
    if both:
        raise Invalid(
            f"{', '.join(both)} is in both env and secret env: give each variable once",
            field="secret_env",
        )
    if not checked:
        return [], None
    return sorted(checked), box.encrypt(json.dumps(checked))


def open_secret_env(box: SecretBox, app: App) -> dict[str, str]:
    """The app's secret env values, for its replicas' environment only."""
    if app.secret_env is None:
        return {}
    values: dict[str, str] = json.loads(box.decrypt(app.secret_env))
    return values


def check_source_url(url: str, *, allow_local: bool) -> GitUrl:
    """A git URL an app may be built from: allowed transports, no password in it."""
    checked = check_git_url(url, allow_local=allow_local)
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        raise Invalid(
            "the git URL holds a password: keep credentials out of URLs (they would show in "
            "logs and listings) and put them in a source secret: wharf source-secret create",
            field="git",
        )
    return checked


def source_warnings(session: Session, box: SecretBox, workspace: Workspace, app: App) -> list[str]:
    """What a user should know about how the app's source is fetched (shown at create)."""
    url = check_git_url(app.git_url, allow_local=True)
    credentials = open_source_secret(session, box, workspace, app.source_secret)
    warning = clear_text_warning(url, credentials)
    return [warning] if warning else []


def new_webhook_secret(box: SecretBox) -> str:
    """A fresh, encrypted webhook secret (160 bits, URL-safe)."""
    return box.encrypt(random_secrets.token_urlsafe(20))


def _check_spec(spec: AppSpec, *, allow_local_git: bool) -> GitUrl:
    url = check_source_url(spec.git_url, allow_local=allow_local_git)
    if not 0 <= spec.replicas <= MAX_REPLICAS:
        raise Invalid(f"replicas must be between 0 and {MAX_REPLICAS}", field="replicas")
    for name, parse in (("cpu", parse_cpu), ("memory", parse_memory)):
        value = getattr(spec, name)
        if value is not None:
            try:
                parse(value)
            except Invalid as exc:  # name the field, for forms that show errors by it
                raise Invalid(exc.detail, field=name) from exc
    problem = find_path_problem(spec.context_dir.strip("/") if spec.context_dir else "")
    if problem:
        raise Invalid(
            f"context dir {spec.context_dir!r} is not valid: {problem}", field="context_dir"
        )
    check_labels(spec.labels)
    check_group(spec.group)
    return url


def create_app(
    session: Session,
    workspace: Workspace,
    spec: AppSpec,
    *,
    created_by: str | None,
    secrets: SecretBox,
    allow_local_git: bool = True,
    inspect: RemoteInspector = inspect_with_credentials,
    folders: FolderLister = folders_with_credentials,
    serves_https: bool = False,
) -> tuple[App, Build]:
    """Create an app and queue Build #1. The repository is read now (``git ls-remote``, with
    the app's source secret), so an unreachable URL, a missing ref or wrong credentials are
    refused at once rather than failing a build."""
    url = _check_spec(spec, allow_local_git=allow_local_git)
    name = check_dns_label("app", spec.name or derive_app_name(spec.git_url))
    if _find(session, workspace, name) is not None:
        raise Conflict(f"app {name!r} already exists in workspace {workspace.name!r}", field="name")
    # The runtime's own route rule, so what is stored is what the proxy will accept.
    route = check_route(
        {key: value for key, value in vars(spec.route).items() if value is not None},
        given={key for key, value in vars(spec.route).items() if value is not None},
        serves_https=serves_https,
    )
    runtime_env = check_env("runtime env", spec.runtime_env)
    secret_keys, sealed_env = _seal_secret_env(secrets, spec.secret_env, runtime_env)
    credentials = open_source_secret(session, secrets, workspace, spec.source_secret)
    ref = choose_ref(spec.git_url, inspect(url, credentials), spec.ref)
    check_context_dir(url, ref, spec.context_dir.strip("/"), credentials, folders)
    app = App(
        workspace_id=workspace.id,
        name=name,
        git_url=spec.git_url,
        git_ref=ref,
        context_dir=spec.context_dir.strip("/"),
        source_secret=spec.source_secret,
        build_env=check_env("build env", spec.build_env),
        runtime_env=runtime_env,
        secret_env_keys=secret_keys,
        secret_env=sealed_env,
        replicas=spec.replicas,
        cpu=spec.cpu,
        memory=spec.memory,
        labels=check_labels(spec.labels),
        group=check_group(spec.group),
        route=route,
        webhook_secret=new_webhook_secret(secrets),
        created_by=created_by,
    )
    session.add(app)
    session.flush()
    app_events.record_event(
        session, app, "Created", actor=created_by, message=f"from {spec.git_url} ({ref})"
    )
    first = builds.start_build(session, app, trigger="created", created_by=created_by)
    return app, first


def _find(session: Session, workspace: Workspace, name: str) -> App | None:
    return session.scalar(select(App).where(App.workspace_id == workspace.id, App.name == name))


def read_app(session: Session, workspace: Workspace, name: str) -> App:
    app = _find(session, workspace, name)
    if app is None:
        raise NotFound(f"app {name!r} does not exist in workspace {workspace.name!r}")
    return app


def list_apps(
    session: Session,
    workspace: Workspace,
    *,
    group: str | None = None,
    label_selector: str | None = None,
) -> list[App]:
    """The workspace's apps by name; of one application group and matching a label selector
    (``team=risk,tier!=web``) when given."""
    requirements = parse_selector(label_selector or "")
    query = select(App).where(App.workspace_id == workspace.id).order_by(App.name)
    if group:
        query = query.where(App.group == group)
    return [app for app in session.scalars(query) if matches_selector(app.labels, requirements)]


@dataclass(frozen=True)
class AppPage:
    """One page of the apps whose names matched, and how many matched in all."""

    apps: list[App]
    total: int


def find_apps(
    session: Session, workspace: Workspace, name_contains: str = "", *, offset: int, limit: int
) -> AppPage:
    """The workspace's apps whose name contains ``name_contains``, by name: ``limit`` of them
    from ``offset``, counted and sliced by the database."""
    query = select(App).where(App.workspace_id == workspace.id)
    if needle := name_contains.strip().lower():
        query = query.where(App.name.contains(needle, autoescape=True))
    total = session.scalar(query.with_only_columns(func.count())) or 0
    found = session.scalars(query.order_by(App.name).offset(offset).limit(limit))
    return AppPage(list(found), total)


def delete_app(session: Session, app: App) -> None:
    """Forget an app and its builds (the runtime stops its replicas)."""
    session.delete(app)
    session.flush()


def describe_route(
    app: App, workspace: str, public_url: str, apps_domain: str, https_url: str | None = None
) -> dict[str, Any]:
    """The URLs an app answers on, with the scheme its route really serves: a TLS route's
    carry ``https_url`` (the server's HTTPS address and port) when the server has one."""
    if not app.route.get("enabled", True):
        return {"enabled": False, "urls": []}
    if app.route.get("tls") and https_url is not None:
        public_url = https_url
    scheme, _, rest = public_url.partition("://")
    port = rest.rsplit(":", 1)[1] if ":" in rest else ""
    suffix = f":{port}" if port else ""
    # A path selects what reaches the app on its hosts: a URL without it would answer 404.
    path = (app.route.get("path") or "").rstrip("/") + "/"
    urls = [
        f"{public_url}/apps/{workspace}/{app.name}/",
        f"{scheme}://{app.name}-{workspace}.{apps_domain}{suffix}{path}",
    ]
    if app.route.get("hostname"):
        urls.append(f"{scheme}://{app.route['hostname']}{suffix}{path}")
    return {"enabled": True, "urls": urls}

"""Import from Git: the form of ``wharf app create``, with the builder the repository gets
shown before create, and each error next to the field it concerns."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from wharf.console.context import ConsoleContext, action, page
from wharf.console.errors import ConsoleRoute
from wharf.console.forms import parse_env, parse_labels
from wharf.console.render import render
from wharf.errors import Invalid, ServiceError
from wharf.services import apps, deployments, repositories, source_secrets
from wharf.services.repositories import Detection
from wharf.store.models import Workspace

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

NEW_SECRET = "__new__"  # noqa: S105 (a form choice, not a secret)
"""The source-secret choice that creates one from the form's credentials."""
TEXT_FIELDS = (
    "git",
    "ref",
    "context_dir",
    "source_secret",
    "new_secret_name",
    "new_secret_username",
    "name",
    "group",
    "build_env",
    "env",
    "replicas",
    "cpu",
    "memory",
    "labels",
    "hostname",
    "path",
    "target_port",
)
# Where a service's field name shows on this form.
FIELD_ON_FORM = {
    "runtime_env": "env",
    "route": "hostname",
    "route.hostname": "hostname",
    "route.path": "path",
    "route.target_port": "target_port",
    "route.tls": "tls",
    "password": "new_secret_password",
    "username": "new_secret_username",
}


@dataclass
class ImportForm:
    """What the form holds, as text, and what was wrong with it."""

    values: dict[str, str]
    route: bool = True
    tls: bool = False
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, form: FormData) -> ImportForm:
        values = {name: str(form.get(name) or "") for name in TEXT_FIELDS}
        return cls(values, route=form.get("route") == "on", tls=form.get("tls") == "on")

    @classmethod
    def empty(cls) -> ImportForm:
        values = dict.fromkeys(TEXT_FIELDS, "")
        values["replicas"] = "1"
        return cls(values)

    def fail(self, error: ServiceError) -> None:
        name = str(error.extra.get("field") or "git")
        self.errors[FIELD_ON_FORM.get(name, name if name in self.values else "git")] = error.detail

    def number(self, name: str, *, default: int | None) -> int | None:
        text = self.values[name].strip()
        if not text:
            return default
        if not text.isdigit():
            raise Invalid(f"{name.replace('_', ' ')} must be a whole number", field=name)
        return int(text)

    def spec(self) -> apps.AppSpec:
        """The app to create, or Invalid naming the first field that is wrong."""
        v = self.values
        replicas = self.number("replicas", default=1)
        route = apps.RouteSpec(
            enabled=self.route,
            hostname=v["hostname"].strip() or None,
            path=v["path"].strip() or None,
            target_port=self.number("target_port", default=None),
            tls="edge" if self.tls else None,
        )
        return apps.AppSpec(
            git_url=v["git"].strip(),
            name=v["name"].strip() or None,
            ref=v["ref"].strip() or None,
            context_dir=v["context_dir"].strip(),
            source_secret=self.secret_name(),
            build_env=parse_env("build_env", v["build_env"]),
            runtime_env=parse_env("env", v["env"]),
            replicas=replicas if replicas is not None else 1,
            cpu=v["cpu"].strip() or None,
            memory=v["memory"].strip() or None,
            labels=parse_labels("labels", v["labels"]),
            group=v["group"].strip() or None,
            route=route,
        )

    def secret_name(self) -> str | None:
        chosen = self.values["source_secret"]
        if chosen == NEW_SECRET:
            return self.values["new_secret_name"].strip() or None
        return chosen or None


def _form_page(
    ctx: ConsoleContext, form: ImportForm, *, status: int = 200, detected: Detection | None = None
) -> Response:
    with ctx.platform.transaction() as session:
        workspace = ctx.read_workspace(session)
        secrets = [s.name for s in source_secrets.list_source_secrets(session, workspace)]
    return render(
        ctx,
        "import/form.html",
        status=status,
        api=ctx.api_url("apps"),
        form=form,
        secrets=secrets,
        new_secret=NEW_SECRET,
        detected=detected,
        detect_error=None,
    )


@router.get("/w/{ws}/import")
def import_form(ws: str, ctx: ConsoleContext = page("apps/write")) -> Response:
    return _form_page(ctx, ImportForm.empty())


@router.post("/w/{ws}/import/detect")
async def detect(ws: str, request: Request, ctx: ConsoleContext = action("apps/write")) -> Response:
    """The builder the repository gets (an htmx fragment), read with the chosen secret."""
    form = ImportForm.read(await request.form())
    return await run_in_threadpool(_detect, ctx, form)


def _detect(ctx: ConsoleContext, form: ImportForm) -> Response:
    v = form.values
    detected: Detection | None = None
    error: str | None = None
    if v["git"].strip():
        try:
            with ctx.platform.transaction() as session:
                workspace = ctx.read_workspace(session)
                chosen = v["source_secret"] if v["source_secret"] != NEW_SECRET else None
                detected = repositories.detect_repository(
                    session,
                    ctx.platform.secrets,
                    workspace,
                    v["git"],
                    ref=v["ref"].strip() or None,
                    context_dir=v["context_dir"],
                    source_secret=chosen or None,
                    allow_local_git=ctx.platform.settings.allow_local_git,
                )
        except ServiceError as exc:
            error = exc.detail
    return render(ctx, "import/_detected.html", detected=detected, detect_error=error)


@router.post("/w/{ws}/import")
async def create(ws: str, request: Request, ctx: ConsoleContext = action("apps/write")) -> Response:
    form_data = await request.form()
    form = ImportForm.read(form_data)
    password = str(form_data.get("new_secret_password") or "")
    return await run_in_threadpool(_create, ctx, request, form, password)


def _create(ctx: ConsoleContext, request: Request, form: ImportForm, password: str) -> Response:
    try:
        spec = form.spec()
        with ctx.platform.transaction() as session:
            workspace = ctx.read_workspace(session)
            if form.values["source_secret"] == NEW_SECRET:
                _create_secret(ctx, session, workspace, form, password)
            app, _ = deployments.create_routed_app(
                session,
                ctx.platform,
                request.app.state.registry,
                workspace,
                spec,
                created_by=ctx.user_name,
            )
            name = app.name
    except ServiceError as error:
        form.fail(error)
        return _form_page(ctx, form, status=error.status)
    ctx.platform.build_runner.wake()
    return RedirectResponse(ctx.ws_url("topology") + f"?selected={name}", status_code=303)


def _create_secret(
    ctx: ConsoleContext, session: Session, workspace: Workspace, form: ImportForm, password: str
) -> None:
    if not ctx.can("source-secrets/write"):
        raise Invalid(
            "creating a source secret needs source-secrets/write: pick an existing one",
            field="source_secret",
        )
    spec = source_secrets.SourceSecretSpec(
        name=form.values["new_secret_name"].strip(),
        username=form.values["new_secret_username"] or None,
        password=password or None,
    )
    try:
        source_secrets.create_source_secret(
            session, ctx.platform.secrets, workspace, spec, created_by=ctx.user_name
        )
    except ServiceError as error:
        name = str(error.extra.get("field") or "name")
        error.extra["field"] = {"name": "new_secret_name"}.get(name, name)
        raise

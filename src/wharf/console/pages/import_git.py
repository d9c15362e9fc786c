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
from wharf.console.render import render
from wharf.errors import Invalid, ServiceError
from wharf.services import deployments, import_form, repositories, source_secrets
from wharf.services.repositories import Detection
from wharf.store.models import Workspace

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

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
        values = {name: str(form.get(name) or "") for name in import_form.TEXT_FIELDS}
        return cls(values, route=form.get("route") == "on", tls=form.get("tls") == "on")

    @classmethod
    def empty(cls) -> ImportForm:
        values = dict.fromkeys(import_form.TEXT_FIELDS, "")
        values["replicas"] = "1"
        return cls(values)

    def fail(self, error: ServiceError) -> None:
        name = str(error.extra.get("field") or "git")
        self.errors[FIELD_ON_FORM.get(name, name if name in self.values else "git")] = error.detail


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
        new_secret=import_form.NEW_SECRET,
        detected=detected,
        detect_error=None,
    )


@router.get("/w/{ws}/import")
def show_import_form(ws: str, ctx: ConsoleContext = page("apps/write")) -> Response:
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
                chosen = None if import_form.wants_new_secret(v) else v["source_secret"]
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
        spec = import_form.read_import_form(form.values, route=form.route, tls=form.tls)
        with ctx.platform.transaction() as session:
            workspace = ctx.read_workspace(session)
            if import_form.wants_new_secret(form.values):
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
    spec = import_form.read_new_secret(form.values, password)
    try:
        source_secrets.create_source_secret(
            session, ctx.platform.secrets, workspace, spec, created_by=ctx.user_name
        )
    except ServiceError as error:
        name = str(error.extra.get("field") or "name")
        error.extra["field"] = {"name": "new_secret_name"}.get(name, name)
        raise

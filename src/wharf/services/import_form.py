"""The console's Import from Git form read into an :class:`~wharf.services.apps.AppSpec` (and
the source secret it may create on the way), as ``wharf app create`` reads its options.

Form fields, as text: ``git``, ``ref``, ``context_dir``, ``source_secret`` (a secret's name,
or :data:`NEW_SECRET` with ``new_secret_name``, ``new_secret_username`` and
``new_secret_password``), ``name``, ``group``, ``build_env`` and ``env`` (``KEY=VALUE``
lines), ``replicas``, ``cpu``, ``memory``, ``labels``, ``hostname``, ``path`` and
``target_port``; and two checkboxes, ``route`` and ``tls``. An error's ``field`` names the form
field it is about, or the service's field (``route.hostname``, ``runtime_env``...).
"""

from __future__ import annotations

from collections.abc import Mapping

from wharf.errors import Invalid
from wharf.services.apps import AppSpec, RouteSpec
from wharf.services.env_text import parse_env, parse_labels
from wharf.services.source_secrets import SourceSecretSpec

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
"""The form's text fields (the password is read apart: it is never shown again)."""


def read_import_form(values: Mapping[str, str], *, route: bool, tls: bool) -> AppSpec:
    """The app to create, or Invalid naming the first field that is wrong."""
    replicas = _whole_number(values, "replicas", default=1)
    routed = RouteSpec(
        enabled=route,
        hostname=values["hostname"].strip() or None,
        path=values["path"].strip() or None,
        target_port=_whole_number(values, "target_port", default=None),
        tls="edge" if tls else None,
    )
    return AppSpec(
        git_url=values["git"].strip(),
        name=values["name"].strip() or None,
        ref=values["ref"].strip() or None,
        context_dir=values["context_dir"].strip(),
        source_secret=read_secret_choice(values),
        build_env=parse_env("build_env", values["build_env"]),
        runtime_env=parse_env("env", values["env"]),
        replicas=replicas if replicas is not None else 1,
        cpu=values["cpu"].strip() or None,
        memory=values["memory"].strip() or None,
        labels=parse_labels("labels", values["labels"]),
        group=values["group"].strip() or None,
        route=routed,
    )


def read_secret_choice(values: Mapping[str, str]) -> str | None:
    """The source secret the app builds with: the one picked, or the new one's name."""
    chosen = values["source_secret"]
    if chosen == NEW_SECRET:
        return values["new_secret_name"].strip() or None
    return chosen or None


def wants_new_secret(values: Mapping[str, str]) -> bool:
    return values["source_secret"] == NEW_SECRET


def read_new_secret(values: Mapping[str, str], password: str) -> SourceSecretSpec:
    """The source secret to create before the app (when :func:`wants_new_secret`)."""
    return SourceSecretSpec(
        name=values["new_secret_name"].strip(),
        username=values["new_secret_username"] or None,
        password=password or None,
    )


def _whole_number(values: Mapping[str, str], name: str, *, default: int | None) -> int | None:
    text = values[name].strip()
    if not text:
        return default
    if not text.isdigit():
        raise Invalid(f"{name.replace('_', ' ')} must be a whole number", field=name)
    return int(text)

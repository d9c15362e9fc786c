"""What a list page's create form shows: blank on a visit; after a refused submit, the values
typed again and the service's complaint next to the field it names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from wharf.console.context import ConsoleContext
from wharf.console.render import render
from wharf.errors import ServiceError


@dataclass(frozen=True)
class FormState:
    """The form's values, its errors by field, and the status of the page that shows it."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    status: int = 200


def refuse_form(values: dict[str, str], error: ServiceError, field: str = "name") -> FormState:
    """The form again after ``error``: its message goes next to the field the service named
    (``field`` when it named none), with the error's status."""
    return FormState(values, {str(error.extra.get("field", field)): error.detail}, error.status)


def render_form_page(
    ctx: ConsoleContext, template: str, form: FormState, **values: Any
) -> Response:
    """:func:`render` a page with its form's ``values``, ``errors`` and status."""
    return render(
        ctx, template, status=form.status, values=form.values, errors=form.errors, **values
    )

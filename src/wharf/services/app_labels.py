"""Labels, groups and label selectors of apps (Kubernetes' syntax, so selectors read the same)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from wharf.errors import Invalid
from wharf.services.naming import check_dns_label

_LABEL_KEY = re.compile(
    r"^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$")


def check_labels(labels: Mapping[str, Any]) -> dict[str, str]:
    """Labels as Kubernetes has them: ``[prefix/]name`` keys, values of at most 63 letters,
    digits, ``-``, ``_`` and ``.`` (so every label can be selected on)."""
    checked: dict[str, str] = {}
    for key, value in labels.items():
        if not _LABEL_KEY.match(key):
            raise Invalid(
                f"label {key!r} is not valid: use letters, digits, '-', '_' and '.' (at most "
                "63), starting and ending with a letter or digit, with an optional 'prefix/'",
                field="labels",
            )
        text = str(value)
        if not _LABEL_VALUE.match(text):
            raise Invalid(
                f"label {key}={text!r}: a value is at most 63 letters, digits, '-', '_' or "
                "'.', starting and ending with a letter or digit",
                field="labels",
            )
        checked[key] = text
    return checked


def check_group(group: Any) -> str | None:
    """An application group is named like an app (it may appear in host names later)."""
    if group is None or group == "":
        return None
    if not isinstance(group, str):
        raise Invalid("group must be a name", field="group")
    try:
        return check_dns_label("group", group)
    except Invalid as exc:
        raise Invalid(str(exc), field="group") from None


Operator = Literal["=", "!=", "exists", "!exists"]


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: Operator
    value: str | None = None

    def matches(self, labels: Mapping[str, Any]) -> bool:
        if self.operator == "exists":
            return self.key in labels
        if self.operator == "!exists":
            return self.key not in labels
        if self.operator == "=":
            return self.key in labels and str(labels[self.key]) == self.value
        return self.key not in labels or str(labels[self.key]) != self.value


_TERM = re.compile(r"^\s*(!?)\s*([^\s=!,]+)\s*(?:(==|=|!=)\s*([^\s=!,]*))?\s*$")


def parse_selector(selector: str) -> list[Requirement]:
    """``team=risk,tier!=web,canary,!legacy`` -> requirements that must all hold.

    Supports equality (``=``, ``==``), inequality (``!=``), existence (``key``) and absence
    (``!key``), joined by commas, as ``kubectl -l`` does. Raises ``Invalid`` naming the term."""
    requirements: list[Requirement] = []
    if not selector.strip():
        return requirements
    for term in selector.split(","):
        match = _TERM.match(term)
        if match is None or (match.group(1) and match.group(3)):
            raise Invalid(
                f"label selector term {term.strip()!r} is not valid: use key=value, "
                "key!=value, key or !key, joined by commas",
                field="label_selector",
            )
        negate, key, operator, value = match.groups()
        if not _LABEL_KEY.match(key) or (value and not _LABEL_VALUE.match(value)):
            raise Invalid(
                f"label selector term {term.strip()!r} names an invalid label key or value",
                field="label_selector",
            )
        if operator is None:
            requirements.append(Requirement(key, "!exists" if negate else "exists"))
        else:
            requirements.append(Requirement(key, "!=" if operator == "!=" else "=", value or ""))
    return requirements


def matches_selector(labels: Mapping[str, Any], requirements: list[Requirement]) -> bool:
    return all(requirement.matches(labels) for requirement in requirements)

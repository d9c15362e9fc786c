"""Server-side pagination: every console list shows ``PAGE_SIZE`` rows of ``?page=N``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

PAGE_SIZE = 25

T = TypeVar("T")

PageNumber = Annotated[int, Query(alias="page", ge=1, le=1_000_000, description="page number")]
"""The ``?page=N`` parameter of a list page."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its rows and where it sits in the whole."""

    items: list[T]
    number: int
    total: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_row(self) -> int:
        """The 1-based position of the first row shown (0 when there is none)."""
        return 0 if not self.items else (self.number - 1) * self.size + 1

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.items) - 1 if self.items else 0


def paginate(rows: Sequence[T], number: int, size: int = PAGE_SIZE) -> Page[T]:
    """Page ``number`` of rows already in memory (a service's list)."""
    start = (number - 1) * size
    return Page(list(rows[start : start + size]), number, len(rows), size)


def paginate_query(
    session: Session, query: Select[Any], number: int, size: int = PAGE_SIZE
) -> Page[Any]:
    """Page ``number`` of a query's rows, counted and sliced by the database."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = list(session.scalars(query.offset((number - 1) * size).limit(size)))
    return Page(rows, number, int(total or 0), size)

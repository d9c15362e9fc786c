"""Engine and session factory for the store; SQLite by default, PostgreSQL when configured."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic_core import from_json
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

SQLITE_POOL_SIZE = 20
"""SQLite connections kept open: enough for the API's busy threads and the runners, so a busy
server does not open (and set up) a connection per request."""


def create_store_engine(url: str) -> Engine:
    """An engine for ``url``. SQLite gets WAL, a busy timeout and foreign keys switched on.
    JSON columns are read with pydantic-core's parser (a job listing reads hundreds)."""
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            json_deserializer=read_json,
            **({} if database in ("", ":memory:") else _SQLITE_POOL),
        )
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, json_deserializer=read_json
    )


_SQLITE_POOL: dict[str, Any] = {"pool_size": SQLITE_POOL_SIZE, "max_overflow": 40}


def read_json(text: str | bytes) -> Any:
    """A stored JSON value, by pydantic-core's parser (several times the standard library's
    speed); text it refuses that the standard library reads (a lone surrogate escape, which
    ``json.dumps`` writes) is read by the standard library."""
    try:
        return from_json(text)
    except ValueError:
        return json.loads(text)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (services return ORM objects)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session

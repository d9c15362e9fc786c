"""Fixtures shared by every tier: isolated settings, a store on SQLite and PostgreSQL, the
in-process app with its lifespan, and SDK clients over it."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, MetaData, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.inprocess import PortalTransport, serve_in_process
from tests.moduletimes import ModuleTimes, order_by_weight
from tests.processes import SHARED_UV_CACHE
from tests.storage_servers import (
    STORAGE_SERVER_FIXTURES,
    azure_container,
    azurite,
    s3_bucket,
    s3_server,
)
from tests.waiting import wait_until
from wharf.api import create_app
from wharf.config import Settings
from wharf.sdk import Client
from wharf.services import bootstrap, members, tokens, users, workspaces
from wharf.services.platform import Platform
from wharf.store.database import create_store_engine
from wharf.store.migrate import upgrade_store

POSTGRES_URL = os.environ.get("WHARF_TEST_DATABASE_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TIER_SKIPS = (
    "WHARF_TEST_DATABASE_URL is not set",
    "Node.js and npm are not installed",
    "moto[server] is not installed",
    "needs 'unshare -n'",
    "Chromium is not installed",
)
"""Skip reasons that mean a whole tier did not run: in CI (``CI=true``) each is a failure, so
a tier cannot go missing from a green run without anyone noticing."""
# Real storage servers (Azurite from npm, moto's S3 server), started once per session.
__all__ = ["azure_container", "azurite", "s3_bucket", "s3_server"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped and isinstance(report.longrepr, tuple):
        reason = report.longrepr[2].removeprefix("Skipped: ")
        if any(marker in reason for marker in TIER_SKIPS):
            report.outcome = "failed"
            report.longrepr = f"a tier was skipped in CI (CI=true): {reason}"


@pytest.fixture(scope="session", autouse=True)
def _shared_uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One uv cache for the sandboxed installs of every ``wharf up`` of this run, on every
    worker (see ``tests.processes.wharf_env``): beside the workers' own temporary folders,
    removed with them by pytest's clean-up of old runs."""
    base = tmp_path_factory.getbasetemp()
    run = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    cache = run / "uv-cache"
    cache.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SHARED_UV_CACHE, str(cache))
        yield


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's WHARF_* variables or writes their config."""
    for name in list(os.environ):
        if name.startswith("WHARF_") and not name.startswith("WHARF_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("WHARF_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture(scope="session")
def _postgres_admin_url() -> str:
    if not POSTGRES_URL:
        pytest.skip("WHARF_TEST_DATABASE_URL is not set: PostgreSQL runs are skipped")
    return Settings(database_url=POSTGRES_URL).effective_database_url


def create_postgres_database(admin_url: str) -> tuple[str, str]:
    """A fresh, empty database on the test server: (its URL, its name)."""
    name = "wharf_test_" + secrets.token_hex(6)
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), name


def drop_postgres_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def connections_left(admin: Engine, name: str) -> list[str]:
    """The connections to database ``name`` on the test server, each as its state and its
    last statement."""
    with admin.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT state, left(query, 200) FROM pg_stat_activity"
                " WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        ).all()
    return [f"{state}: {query}" for state, query in rows]


def assert_no_connection_left(admin: Engine, name: str) -> None:
    """Fail the test that left a connection to its PostgreSQL database open (a server not
    stopped, an engine not disposed, a thread that outlived its server): here, and not with a
    ``ResourceWarning`` when the garbage collector finds it during some later test. A
    connection closed a moment ago may still be listed for a moment: it is given time."""
    left = connections_left(admin, name)
    if left:
        wait_until(
            lambda: not connections_left(admin, name),
            timeout=5,
            what=f"the test's connections to {name} to close: {left}",
        )


@pytest.fixture(scope="session")
def _postgres_admin(_postgres_admin_url: str) -> Iterator[Engine]:
    """One connection to the test server's own database, kept for the session: it asks which
    connections a test left open (a new connection per test costs tens of milliseconds)."""
    engine = create_engine(_postgres_admin_url, pool_size=1, max_overflow=0)
    try:
        yield engine
    finally:
        engine.dispose()


@dataclass(frozen=True)
class PostgresStore:
    """A migrated store database on the test server, one per test process, emptied before each
    test that uses it: a fresh database per test costs a migration and a ``DROP DATABASE``
    (about a second on a busy server), emptying it a few milliseconds."""

    url: str
    name: str
    tables: tuple[str, ...]
    """Its tables but Alembic's own, each after the tables it refers to."""
    sequences: tuple[str, ...]

    def empty(self) -> None:
        """Leave the store as the migrations left it: no rows, sequences back at 1. (Leftover
        connections of an earlier test, should there be any, are ended first.)"""
        engine = create_engine(self.url, poolclass=NullPool)
        try:
            with engine.begin() as connection:
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
                for table in reversed(self.tables):
                    connection.execute(text(f'DELETE FROM "{table}"'))
                for sequence in self.sequences:
                    connection.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
        finally:
            engine.dispose()


def read_postgres_store(url: str, name: str) -> PostgresStore:
    """The migrated store at ``url``; fails if a migration wrote rows that emptying it before
    each test would remove."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            metadata = MetaData()
            metadata.reflect(connection)
            tables = [t.name for t in metadata.sorted_tables if t.name != "alembic_version"]
            seeded = [
                table
                for table in tables
                if connection.execute(text(f'SELECT EXISTS (SELECT FROM "{table}")')).scalar()
            ]
            sequences = connection.execute(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
            ).scalars()
            store = PostgresStore(url, name, tuple(tables), tuple(sequences))
    finally:
        engine.dispose()
    assert not seeded, f"the migrations write rows into {seeded}: see PostgresStore"
    return store


@pytest.fixture(scope="session")
def _postgres_store(_postgres_admin_url: str) -> Iterator[PostgresStore]:
    url, name = create_postgres_database(_postgres_admin_url)
    try:
        engine = create_store_engine(url)
        try:
            upgrade_store(engine)
        finally:
            engine.dispose()
        yield read_postgres_store(url, name)
    finally:
        drop_postgres_database(_postgres_admin_url, name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_kind(request: pytest.FixtureRequest) -> str:
    """Each store test runs on SQLite and, when configured, on PostgreSQL."""
    return str(request.param)


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, database_kind: str
) -> Iterator[str]:
    """A fresh database the migrations have not run on: SQLite, or a new PostgreSQL database,
    dropped after the test."""
    if database_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'wharf.db'}"
        return
    admin_url = request.getfixturevalue("_postgres_admin_url")
    admin: Engine = request.getfixturevalue("_postgres_admin")
    url, name = create_postgres_database(admin_url)
    try:
        yield url
        assert_no_connection_left(admin, name)
    finally:
        drop_postgres_database(admin_url, name)


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path, database_kind: str) -> Iterator[str]:
    """The store of a test server, empty: a new SQLite file, or this test process's
    PostgreSQL store, emptied (the server's start still runs the migrations, which then find
    nothing to do). On PostgreSQL, the test fails if it leaves a connection to it open."""
    if database_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'wharf.db'}"
        return
    store: PostgresStore = request.getfixturevalue("_postgres_store")
    admin: Engine = request.getfixturevalue("_postgres_admin")
    store.empty()
    yield store.url
    assert_no_connection_left(admin, store.name)


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, store_url: str) -> Settings:
    """Settings of a test server. Private addresses stay refused, except the loopback
    storage servers (moto, Azurite) the test uses: exactly their ``host:port``."""
    allowed = [
        request.getfixturevalue(name).allow_pattern
        for name in STORAGE_SERVER_FIXTURES
        if name in request.fixturenames
    ]
    return Settings(
        data_dir=tmp_path / "data",
        config_dir=tmp_path / "config",
        database_url=store_url,
        allow_private_urls=",".join(allowed),
    )


@dataclass
class Server:
    """The in-process app, started, with an admin token and a way to make more clients."""

    app: FastAPI
    http: httpx.Client
    transport: PortalTransport
    platform: Platform
    admin_token: str

    def client(self, token: str | None = None, workspace: str = "default") -> Client:
        """An SDK client over the in-process transport (``token=None``: the admin's)."""
        return Client(
            "http://testserver",
            token=token if token is not None else self.admin_token,
            workspace=workspace,
            transport=self.transport,
        )

    def user_with_role(self, name: str, role: str, workspace: str = "default") -> str:
        """Create a user holding ``role`` in ``workspace``; return a token for them."""
        with self.platform.transaction() as session:
            user = users.create_user(session, name)
            members.assign_role(session, workspaces.read_workspace(session, workspace), name, role)
            _, plaintext = tokens.create_token(session, user, name="test", lifetime=None)
        return plaintext


@contextmanager
def running_server(settings: Settings) -> Iterator[Server]:
    """The in-process app on ``settings``, started, with an admin token; stopped after."""
    app = create_app(settings)
    with (
        serve_in_process(app) as transport,
        httpx.Client(transport=transport, base_url="http://testserver") as http,
    ):
        platform: Platform = app.state.platform
        with platform.transaction() as session:
            admin_token = bootstrap.issue_admin_token(session)
        yield Server(
            app=app, http=http, transport=transport, platform=platform, admin_token=admin_token
        )


@pytest.fixture
def server(settings: Settings) -> Iterator[Server]:
    with running_server(settings) as started:
        yield started


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One in-process server for a module's tests that change nothing another of them reads
    (a setup shared by many read-only tests), on SQLite and on a PostgreSQL database of its
    own (the per-process store is emptied by each test that uses ``server``)."""
    folder = tmp_path_factory.mktemp("module-server")
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{folder / 'data' / 'wharf.db'}"
        else:
            admin_url = request.getfixturevalue("_postgres_admin_url")
            url, name = create_postgres_database(admin_url)
            stack.callback(drop_postgres_database, admin_url, name)
        settings = Settings(
            data_dir=folder / "data", config_dir=folder / "config", database_url=url
        )
        yield stack.enter_context(running_server(settings))


@pytest.fixture
def admin(server: Server) -> Iterator[Client]:
    with server.client() as client:
        yield client


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(ModuleTimes(), "wharf-module-times")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    order_by_weight(items)

"""A start of the platform that fails leaves no store connection open."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

import wharf.services.platform as platform_module
from wharf.config import Settings
from wharf.errors import Invalid
from wharf.services.platform import start_platform


def test_a_start_refused_for_a_bad_secret_key_closes_the_store_it_migrated(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engines: list[Engine] = []
    create = platform_module.create_store_engine

    def create_store_engine(url: str) -> Engine:
        engines.append(create(url))
        return engines[-1]

    monkeypatch.setattr(platform_module, "create_store_engine", create_store_engine)
    broken = settings.model_copy(update={"secret_key": SecretStr("not-a-fernet-key")})
    with pytest.raises(Invalid, match="not a valid Fernet key"):
        start_platform(broken)
    [engine] = engines
    assert isinstance(engine.pool, QueuePool)
    assert engine.pool.checkedin() == 0, engine.pool.status()

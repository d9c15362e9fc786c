"""The Alembic migrations build exactly the schema the models describe (no drift)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from wharf.store.database import create_store_engine
from wharf.store.migrate import upgrade_store
from wharf.store.models import Base


def test_the_migrated_store_matches_the_models(database_url: str) -> None:
    engine = create_store_engine(database_url)
    try:
        upgrade_store(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], "models.py and the migrations differ: " + repr(differences)

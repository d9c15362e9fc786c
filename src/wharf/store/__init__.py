"""The store: SQLAlchemy models, engine and sessions, and Alembic migrations."""

"""Wire schemas shared by the REST API and the SDK (pure pydantic, no server imports)."""

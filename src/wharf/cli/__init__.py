"""The ``wharf`` command line: typer commands, one module per noun, talking through the SDK."""

"""Settings come from WHARF_* variables and every one is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from wharf.config import Settings
from wharf.docs import render_settings_reference

ROOT = Path(__file__).parents[2]


def test_environment_variables_set_fields(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WHARF_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WHARF_PORT", "9999")
    settings = Settings()
    assert settings.data_dir == tmp_path
    assert settings.port == 9999
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'wharf.db'}"
    assert settings.effective_public_url == "http://127.0.0.1:9999"


@pytest.mark.parametrize("url", ["postgresql://u@h/db", "postgres://u@h/db"])
def test_postgres_urls_use_psycopg(url: str) -> None:
    assert Settings(database_url=url).effective_database_url == "postgresql+psycopg://u@h/db"


def test_every_setting_has_a_docstring() -> None:
    missing = [name for name, field in Settings.model_fields.items() if not field.description]
    assert missing == []


def test_settings_reference_is_current() -> None:
    current = (ROOT / "docs" / "settings.md").read_text()
    assert current == render_settings_reference(), "run 'make docs' and commit docs/settings.md"

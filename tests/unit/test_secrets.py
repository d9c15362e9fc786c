"""The secret box: encryption at rest with a key that is made once and kept private."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from wharf.errors import Invalid
from wharf.services.secrets import SecretBox, load_secret_box


def test_round_trip_and_ciphertext_hides_the_value(tmp_path: Path) -> None:
    box = load_secret_box(tmp_path, None)
    stored = box.encrypt("hunter2-access-key")
    assert "hunter2" not in stored
    assert box.decrypt(stored) == "hunter2-access-key"
    assert "key" not in repr(box).replace("<key hidden>", "")


def test_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    first = load_secret_box(tmp_path, None)
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    before = key_file.read_bytes()
    second = load_secret_box(tmp_path, None)
    assert key_file.read_bytes() == before
    assert second.decrypt(first.encrypt("x")) == "x"


def test_configured_key_wins_and_no_file_is_written(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    box = load_secret_box(tmp_path, key)
    assert SecretBox(key.encode()).decrypt(box.encrypt("v")) == "v"
    assert not (tmp_path / "secret.key").exists()


def test_wrong_key_and_bad_key_give_clear_errors(tmp_path: Path) -> None:
    stored = load_secret_box(tmp_path / "a", None).encrypt("v")
    with pytest.raises(Invalid, match="secret key changed"):
        load_secret_box(tmp_path / "b", None).decrypt(stored)
    with pytest.raises(Invalid, match="not a valid Fernet key"):
        SecretBox(b"short")

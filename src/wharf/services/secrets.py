"""Encryption at rest for every secret Wharf stores (Fernet: AES-128-CBC with HMAC-SHA256)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from wharf.errors import Invalid

KEY_FILE_NAME = "secret.key"


class SecretBox:
    """Encrypts and decrypts secret strings with the platform key. Never logs or shows a value."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise Invalid(
                "the secret key is not a valid Fernet key (32 url-safe base64-encoded bytes); "
                "generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from exc

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def encrypt(self, plaintext: str) -> str:
        """The ciphertext of ``plaintext``, as ASCII text safe to store in any column."""
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        """The plaintext of a value made by :meth:`encrypt` with the same key."""
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode()
        except InvalidToken as exc:
            raise Invalid(
                "a stored secret cannot be decrypted: the secret key changed since it was stored"
            ) from exc


def load_secret_box(data_dir: Path, configured_key: str | None) -> SecretBox:
    """The platform's SecretBox: the configured key, else ``<data_dir>/secret.key``.

    The key file is created once, with mode 0600, and never rewritten: replacing it would make
    every stored secret unreadable.
    """
    if configured_key:
        return SecretBox(configured_key.encode())
    path = data_dir / KEY_FILE_NAME
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return SecretBox(path.read_bytes().strip())
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(Fernet.generate_key())
    return SecretBox(path.read_bytes().strip())

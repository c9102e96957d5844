"""Encryption of secrets at rest (MSAL token caches, Slack bot tokens) with MultiFernet.

``TOKEN_ENCRYPTION_KEYS`` lists Fernet keys newest first: the first encrypts, all
decrypt, so a key is rotated by prepending a new one, running ``scaleup db rotate-keys``
and then dropping the old one.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.private_files import private_dir

log = logging.getLogger(__name__)


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any key in TOKEN_ENCRYPTION_KEYS."""


class TokenCipher:
    """Encrypts and decrypts short secrets; the text form is safe to store in any column."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is required")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except InvalidToken as exc:
            raise SecretUnreadable(SecretUnreadable.__doc__) from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt ``token`` under the newest key (its timestamp is kept)."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")


def dev_key(data_dir: Path) -> str:
    """A key kept in ``data_dir`` for local and sandbox use, created on first call."""
    path = data_dir / "dev-encryption.key"
    if path.exists():
        return path.read_text().strip()
    private_dir(data_dir)
    key = Fernet.generate_key().decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    log.warning(
        "TOKEN_ENCRYPTION_KEYS is not set: generated a development key in %s. "
        "Set TOKEN_ENCRYPTION_KEYS in production.",
        path,
    )
    return key

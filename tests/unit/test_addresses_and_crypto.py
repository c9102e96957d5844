from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.crypto import SecretUnreadable, TokenCipher, dev_key
from handlers.commands import clean_word
from outreach.addresses import normalize_email
from outreach.errors import InvalidEmail


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Riley@Acme.Test", "riley@acme.test"),
        ("  jane.doe+jobs@sub.example.co.uk ", "jane.doe+jobs@sub.example.co.uk"),
        ("<mailto:riley@acme.test|riley@acme.test>", "riley@acme.test"),
    ],
)
def test_valid_addresses_are_normalised(raw: str, expected: str) -> None:
    assert normalize_email(clean_word(raw)) == expected  # Slack's link form: handlers unwrap


@pytest.mark.parametrize(
    "raw", ["jane@", "@acme.test", "jane", "jane@acme", "a b@c.de", "x@-a.com"]
)
def test_invalid_addresses_name_the_value(raw: str) -> None:
    with pytest.raises(InvalidEmail) as caught:
        normalize_email(raw)
    assert f"'{raw.strip()}' is not an email address." == str(caught.value)


def test_cipher_round_trip_and_rotation() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = TokenCipher([old]).encrypt("secret cache")
    both = TokenCipher([new, old])
    assert both.decrypt(token) == "secret cache"
    rotated = both.rotate(token)
    assert TokenCipher([new]).decrypt(rotated) == "secret cache"
    with pytest.raises(SecretUnreadable):
        TokenCipher([new]).decrypt(token)


def test_dev_key_is_created_once_and_private(tmp_path: Path) -> None:
    first = dev_key(tmp_path)
    assert dev_key(tmp_path) == first
    assert (tmp_path / "dev-encryption.key").stat().st_mode & 0o777 == 0o600
    TokenCipher([first])  # a valid Fernet key

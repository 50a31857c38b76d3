"""Credentials are sealed with an authenticated cipher; another key or tampering cannot open them."""

from __future__ import annotations

import pytest

from core.crypto import CredentialCipher, DecryptionError


def test_sealed_credentials_open_with_the_same_key_only() -> None:
    sealed = CredentialCipher("key-one").seal({"token": "s3cret"})
    assert "s3cret" not in str(sealed)
    assert CredentialCipher("key-one").open(sealed) == {"token": "s3cret"}
    with pytest.raises(DecryptionError):
        CredentialCipher("key-two").open(sealed)


def test_tampered_ciphertext_is_refused() -> None:
    sealed = CredentialCipher("key").seal({"token": "s3cret"})
    tampered = {**sealed, "ciphertext": sealed["ciphertext"][:-4] + "AAAA"}
    with pytest.raises(DecryptionError):
        CredentialCipher("key").open(tampered)


def test_several_keys_decrypt_and_rotation_moves_to_the_first() -> None:
    old = CredentialCipher("old-key").seal({"token": "t"})
    both = CredentialCipher("new-key,old-key")
    assert both.open(old) == {"token": "t"}
    rotated = both.rotate(old)
    assert CredentialCipher("new-key").open(rotated) == {"token": "t"}
    with pytest.raises(DecryptionError):
        CredentialCipher("old-key").open(rotated)

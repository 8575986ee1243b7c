"""scrypt password hashing: encoding, verification, parallel hashing."""

from __future__ import annotations

import base64
import hashlib

from lambdas.roster.passwords import PasswordHasher

HASHER = PasswordHasher(log2_n=4, workers=2)


def test_hash_is_encoded_with_its_parameters_and_hides_the_password() -> None:
    # Given a password
    # When it is hashed
    encoded = HASHER.hash("Secret-Pass1")
    # Then the encoding names scrypt, n, r, p, salt and hash, and does not contain the password
    scheme, log2_n, r, p, salt, digest = encoded.split("$")
    assert (scheme, log2_n, r, p) == ("scrypt", "4", "8", "1")
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 32
    assert "Secret-Pass1" not in encoded


def test_same_password_hashes_differently_each_time() -> None:
    # Given one password hashed twice
    # When the encodings are compared
    # Then the random salts make them differ
    assert HASHER.hash("Secret-Pass1") != HASHER.hash("Secret-Pass1")


def test_verify_accepts_the_password_and_rejects_another() -> None:
    encoded = HASHER.hash("Secret-Pass1")
    assert HASHER.verify("Secret-Pass1", encoded)
    assert not HASHER.verify("Secret-Pass2", encoded)


def test_verify_uses_the_parameters_stored_in_the_hash() -> None:
    # Given a hash made with another cost
    encoded = PasswordHasher(log2_n=5).hash("Secret-Pass1")
    # When a hasher of cost 4 verifies it
    # Then it still matches
    assert HASHER.verify("Secret-Pass1", encoded)


def test_verify_of_a_malformed_encoding_is_false() -> None:
    for encoded in ["", "plain", "scrypt$4$8$1$!!$!!", "bcrypt$4$8$1$AAAA$AAAA", "scrypt$99$8$1$AAAA$AAAA"]:
        assert HASHER.verify("Secret-Pass1", encoded) is False


def test_hash_many_keeps_input_order() -> None:
    # Given several passwords
    passwords = [f"Secret-Pass{i}" for i in range(6)]
    # When they are hashed together on the pool
    encoded = HASHER.hash_many(passwords)
    # Then each hash verifies its own password
    assert [HASHER.verify(p, e) for p, e in zip(passwords, encoded, strict=True)] == [True] * 6


def test_hash_is_scrypt_of_salt_and_password() -> None:
    # Given an encoded hash
    _, log2_n, r, p, salt, digest = HASHER.hash("Secret-Pass1").split("$")
    # When scrypt is recomputed from its parts
    expected = hashlib.scrypt(
        b"Secret-Pass1", salt=base64.b64decode(salt), n=2 ** int(log2_n), r=int(r), p=int(p), dklen=32
    )
    # Then it is the stored hash
    assert base64.b64decode(digest) == expected


def test_default_cost_is_production_strength() -> None:
    assert PasswordHasher().log2_n == 14

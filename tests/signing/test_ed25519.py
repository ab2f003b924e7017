"""The native Ed25519 check (``_core.ed25519_verify_many``) against OpenSSL's (through
``cryptography``): it accepts what OpenSSL accepts from real keys, refuses every changed bit,
and refuses what a strict verifier must, some of which OpenSSL lets through."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from receiptcore._core import ed25519_verify_many

# RFC 8032 section 7.1, TESTs 1 to 3: (public key, message, signature).
RFC8032 = [
    (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]
L = 2**252 + 27742317777372353535851937790883648493  # the order of the base point


def openssl(key: bytes, message: bytes, signature: bytes) -> bool:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def test_the_rfc_8032_vectors_verify():
    checks = [tuple(bytes.fromhex(x) for x in vector) for vector in RFC8032]
    assert ed25519_verify_many(checks) == [True, True, True]


@settings(max_examples=50, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), message=st.binary(max_size=2000),
       flip=st.integers(min_value=0))
def test_it_agrees_with_openssl_on_real_keys_and_every_changed_bit(seed, message, flip):
    private = Ed25519PrivateKey.from_private_bytes(seed)
    key, signature = private.public_key().public_bytes_raw(), private.sign(message)
    changed_sig = bytearray(signature)
    changed_sig[flip % 64] ^= 1 << (flip % 8)
    checks = [(key, message, signature), (key, message, bytes(changed_sig))]
    if message:
        changed = bytearray(message)
        changed[flip % len(message)] ^= 1 << (flip % 8)
        checks.append((key, bytes(changed), signature))
    ours = ed25519_verify_many(checks)
    assert ours == [openssl(*c) for c in checks]
    assert ours[0] is True and not any(ours[1:])


def test_a_signature_with_s_beyond_the_group_order_is_refused_by_both():
    key, message, signature = (bytes.fromhex(x) for x in RFC8032[1])
    s = int.from_bytes(signature[32:], "little") + L
    malleated = signature[:32] + s.to_bytes(32, "little")
    assert ed25519_verify_many([(key, message, malleated)]) == [False]
    assert not openssl(key, message, malleated)


def test_a_small_order_key_signs_nothing():
    # The identity as the key, R the identity and S = 0: the verification equation holds for
    # every message, so a verifier that does not refuse small-order points accepts it (OpenSSL
    # 3 does, through cryptography 50: the check this one replaced in dsse).
    identity = (1).to_bytes(32, "little")
    forged = identity + bytes(32)
    assert ed25519_verify_many([(identity, b"any receipt", forged)]) == [False]


@pytest.mark.parametrize(
    "check", [(b"k" * 31, b"m", b"s" * 64), (b"k" * 32, b"m", b"s" * 63), (b"", b"", b"")]
)
def test_wrong_lengths_are_refusals(check):
    assert ed25519_verify_many([check]) == [False]


def test_an_empty_batch_is_empty():
    assert ed25519_verify_many([]) == []

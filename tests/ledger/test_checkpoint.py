"""Signed notes and checkpoints, checked against the Go reference implementation's vectors.

Vectors: golang.org/x/mod/sumdb/note ``note_test.go`` (BSD-3-Clause): the PeterNeumann and
EnochRoot keys, and the signatures those keys made over the same text. Ed25519 is deterministic
(RFC 8032), so signing with the published private key must reproduce the published note byte
for byte. The checkpoint body layout is the example of c2sp.org/tlog-checkpoint.
"""

from __future__ import annotations

import base64

import pytest

from receiptcore.errors import CheckpointError
from receiptcore.ledger.checkpoint import (
    Checkpoint,
    SignerKey,
    VerifierKey,
    key_id,
    open_checkpoint,
    open_note,
)

PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = ("\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgK"
             "vqfqdngotpRZb6KE6RyyBwJnAM=\n")
ENOCH_SIG = ("\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01o"
             "OTGwnWLox33WWd1RvMc+QQ=\n")


def test_key_id_is_sha256_of_name_newline_alg_and_key():
    key = VerifierKey.from_text(PETER_VKEY)
    assert key_id(key.name, key.public_key).hex() == "c74f20a3"
    assert key.to_text() == PETER_VKEY
    assert VerifierKey.from_text(ENOCH_VKEY).key_id.hex() == "af0cfe78"


def test_signing_with_the_reference_key_reproduces_the_reference_note():
    signer = SignerKey.from_text(PETER_SKEY)
    assert signer.verifier.to_text() == PETER_VKEY
    assert signer.to_text() == PETER_SKEY
    assert signer.sign_note(TEXT) == TEXT + "\n" + PETER_SIG


def test_reference_note_opens_and_unknown_signers_are_ignored():
    peter = VerifierKey.from_text(PETER_VKEY)
    assert open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, peter) == TEXT
    assert open_note(TEXT + "\n" + ENOCH_SIG + PETER_SIG, peter) == TEXT


def test_note_without_a_trusted_signature_is_rejected():
    with pytest.raises(CheckpointError, match="not signed by the trusted key"):
        open_note(TEXT + "\n" + ENOCH_SIG, VerifierKey.from_text(PETER_VKEY))


def test_a_changed_byte_in_the_text_or_signature_rejects_the_note():
    peter = VerifierKey.from_text(PETER_VKEY)
    with pytest.raises(CheckpointError, match="invalid signature"):
        open_note(TEXT.replace("cryptography", "cryptographY") + "\n" + PETER_SIG, peter)
    # note_test.go: an "ABCD" spliced into the signature
    with pytest.raises(CheckpointError):
        open_note(TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:], peter)


@pytest.mark.parametrize("note", [
    TEXT,
    TEXT + "\n",
    TEXT + "\n" + PETER_SIG[:-1],
    "\x01" + TEXT + "\n" + PETER_SIG,
    TEXT + "\n" + "\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvq"
    "fqdngotpRZb6KE6RyyBwJnAM=\n",
    TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
    TEXT + "\n" + PETER_SIG * 101,
])
def test_malformed_notes_from_the_reference_suite_are_rejected(note):
    with pytest.raises(CheckpointError):
        open_note(note, VerifierKey.from_text(PETER_VKEY))


@pytest.mark.parametrize("bad", [
    PETER_VKEY[:-1],
    PETER_VKEY.replace("c74f20a3", "c74f20a4"),
    "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
    "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
])
def test_mangled_verifier_keys_are_refused(bad):
    with pytest.raises(CheckpointError):
        VerifierKey.from_text(bad)


def test_checkpoint_body_is_origin_size_and_base64_root():
    # c2sp.org/tlog-checkpoint example body
    body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    checkpoint = Checkpoint.parse(body)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.body() == body
    assert Checkpoint.parse(body + "extension line\n") == checkpoint


@pytest.mark.parametrize("body", [
    "origin\n012\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    "origin\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    "origin\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
    "origin\n12\nAAAA\n",
    "origin\n12\n",
    "origin\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
    "origin\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\nx\n",
])
def test_malformed_checkpoint_bodies_are_refused(body):
    with pytest.raises(CheckpointError):
        Checkpoint.parse(body)


def test_signed_checkpoint_roundtrips_and_binds_the_origin():
    signer = SignerKey.generate("receiptcore.ledger/test")
    checkpoint = Checkpoint("receiptcore.ledger/test", 7, bytes(range(32)))
    note = checkpoint.sign(signer)
    assert open_checkpoint(note, signer.verifier) == checkpoint
    other = SignerKey.from_text(PETER_SKEY)
    with pytest.raises(CheckpointError, match="not signed by the trusted key"):
        open_checkpoint(note, other.verifier)
    foreign = Checkpoint("PeterNeumann2", 7, bytes(32)).sign(SignerKey("PeterNeumann2", other._key))
    with pytest.raises(CheckpointError):
        open_checkpoint(foreign, other.verifier)
    # the size is signed: a reader cannot change it
    with pytest.raises(CheckpointError, match="invalid signature"):
        open_checkpoint(note.replace("\n7\n", "\n8\n", 1), signer.verifier)


# --- hostile notes (issue 17) ------------------------------------------------------------------


@pytest.mark.parametrize("separator", ["\u2028", "\u0085", "\u2029"])
def test_the_signature_block_is_split_on_newline_only_as_go_does(separator):
    """Go's note.Open splits signature lines on "\\n"; str.splitlines() also splits on U+2028
    and U+0085, which let a crafted line pass as two. Such a character is part of the line, so
    the line is malformed (a name may not hold it: it is a space)."""
    peter = VerifierKey.from_text(PETER_VKEY)
    joined = PETER_SIG[:-1] + separator + ENOCH_SIG
    with pytest.raises(CheckpointError, match="malformed note"):
        open_note(TEXT + "\n" + joined, peter)
    body_only = TEXT.replace("\n", separator, 1)  # inside the text: signed, so just text
    note = SignerKey.from_text(PETER_SKEY).sign_note(body_only)
    assert open_note(note, peter) == body_only


@pytest.mark.parametrize("note", [
    (TEXT + "\n" + PETER_SIG).encode()[:-3] + b"\xff\n",
    b"\xed\xa0\x80" + (TEXT + "\n" + PETER_SIG).encode(),
    TEXT + "\ud800\n" + PETER_SIG,  # a str that is no UTF-8 (a lone surrogate)
])
def test_a_note_that_is_not_utf8_is_a_checkpoint_error(note):
    with pytest.raises(CheckpointError, match="not valid UTF-8"):
        open_note(note, VerifierKey.from_text(PETER_VKEY))


def test_a_note_past_the_size_cap_is_refused_before_it_is_parsed():
    from receiptcore.errors import LimitExceeded
    from receiptcore.ledger.checkpoint import MAX_NOTE_BYTES

    huge = TEXT + "x" * MAX_NOTE_BYTES + "\n\n" + PETER_SIG
    with pytest.raises(LimitExceeded, match="at most"):
        open_note(huge, VerifierKey.from_text(PETER_VKEY))


def test_a_repeated_signature_of_the_trusted_key_is_checked_once(monkeypatch):
    peter = VerifierKey.from_text(PETER_VKEY)
    calls = []
    real = VerifierKey.verify
    monkeypatch.setattr(VerifierKey, "verify", lambda self, m, s: calls.append(1) or real(self, m, s))
    assert open_note(TEXT + "\n" + PETER_SIG * 100, peter) == TEXT
    assert len(calls) == 1


def test_a_checkpoint_carries_its_signing_time_as_an_extension_line():
    signer = SignerKey.generate("receiptcore.ledger/test")
    stamped = Checkpoint("receiptcore.ledger/test", 7, bytes(range(32)), 1764547200)
    assert stamped.body().endswith("\ntime 1764547200\n")
    assert open_checkpoint(stamped.sign(signer), signer.verifier) == stamped
    other = stamped.body().replace("time 1764547200\n", "witness example.org\n")
    assert Checkpoint.parse(other).time is None
    for bad in ("time 01\n", "time -1\n", "time 1\ntime 2\n", "time 9999999999999\n"):
        with pytest.raises(CheckpointError, match="time"):
            Checkpoint.parse(stamped.body().replace("time 1764547200\n", bad))

"""Receipts: in-toto Statement v1 in a DSSE envelope, Ed25519. Checked against an
implementation we did not write (securesystemslib's DSSE Envelope and Ed25519 key), and
against tampering: a changed byte anywhere fails."""

from __future__ import annotations

import base64
import copy
import json

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from securesystemslib import exceptions as sslib_exceptions
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.signer import CryptoSigner, SSlibKey

from receiptcore.contracts import Envelope, load, validate
from receiptcore.errors import ReceiptcoreError, SchemaError, SignatureInvalid, UntrustedKey
from receiptcore.signing.dsse import pae, sign_payload, verify_payload
from receiptcore.signing.keys import SigningKey
from receiptcore.signing.receipts import (
    build_statement,
    envelope_bytes,
    read_envelope,
    sign_receipt,
    unverified_statement,
    verify_envelope,
    verify_envelopes,
    write_envelope,
)
from receiptcore.signing.trust import Trust
from support.contract_examples import H2, H

KEY = SigningKey.generate()
TRUST = Trust.of((KEY.public_key, "ci"))


def receipt(key: SigningKey = KEY, **changes) -> Envelope:
    fields = {
        "artifact_id": "support-docs-index", "artifact_commit": H2, "uri": "s3://models/idx/3",
        "build_manifest_commit": H, "dataset_manifest_commits": [H2, H], "key": key,
        "issuer": "ci@models-host",
    }
    fields.update(changes)
    return sign_receipt(**fields)


def sslib_key(key: SigningKey) -> SSlibKey:
    return SSlibKey.from_crypto(Ed25519PublicKey.from_public_bytes(key.public_key), keyid=key.keyid)


def sslib_verify(document: dict, key: SigningKey) -> bytes:
    envelope = SslibEnvelope.from_dict(copy.deepcopy(document))
    envelope.verify([sslib_key(key)], 1)
    return envelope.payload


def test_pae_matches_the_dsse_spec_example():
    # secure-systems-lab/dsse protocol.md, "Test vectors"-style example.
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_pae_lengths_count_bytes_not_characters():
    assert pae("t\u00e9", "\u00e9\u00e9".encode()) == b"DSSEv1 3 t\xc3\xa9 4 \xc3\xa9\xc3\xa9"
    assert pae("", b"") == b"DSSEv1 0  0 "


def test_pae_agrees_with_securesystemslib():
    for payload_type, payload in [("application/vnd.in-toto+json", b'{"a":1}'), ("x\u00ff", b"\x00" * 300)]:
        assert pae(payload_type, payload) == SslibEnvelope(payload, payload_type, {}).pae()


def test_our_envelope_verifies_with_securesystemslib():
    document = receipt().to_json_obj()
    payload = sslib_verify(document, KEY)
    statement = json.loads(payload)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == [{"name": "support-docs-index", "digest": {"sha256": H2}}]


def test_an_envelope_signed_by_securesystemslib_verifies_with_ours():
    statement = build_statement("art", H, "file:///a", H2, [], "ci")
    envelope = SslibEnvelope(rfc8785.dumps(statement.to_json_obj()), "application/vnd.in-toto+json", {})
    envelope.sign(CryptoSigner(KEY.private_key, sslib_key(KEY)))
    ours = load(Envelope, json.dumps(envelope.to_dict()))
    assert verify_envelope(ours, TRUST) == statement


def test_verified_statement_carries_the_receipt_fields():
    statement = verify_envelope(receipt(), TRUST)
    assert statement.artifact_id == "support-docs-index"
    assert statement.artifact_commit == H2
    predicate = statement.predicate
    assert predicate.uri == "s3://models/idx/3"
    assert predicate.build_manifest_commit == H
    assert predicate.dataset_manifest_commits == sorted([H, H2])
    assert predicate.issuer == "ci@models-host"
    assert predicate.schema_version == 1
    assert statement.predicate_type == "https://receiptcore.dev/ArtifactReceipt/v1"


def test_payload_is_the_rfc8785_form_of_the_statement():
    envelope = receipt()
    payload = base64.b64decode(envelope.payload)
    assert payload == rfc8785.dumps(json.loads(payload))


def test_the_same_receipt_signed_twice_is_byte_identical():
    assert envelope_bytes(receipt()) == envelope_bytes(receipt())


def test_keyid_in_the_envelope_is_the_signer_s():
    assert [s.keyid for s in receipt().signatures] == [KEY.keyid]


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def _with(envelope: Envelope, payload: bytes | None = None, sig: bytes | None = None, keyid: str | None = None) -> dict:
    document = envelope.to_json_obj()
    signature = document["signatures"][0]
    if payload is not None:
        document["payload"] = base64.b64encode(payload).decode()
    if sig is not None:
        signature["sig"] = base64.b64encode(sig).decode()
    if keyid is not None:
        signature["keyid"] = keyid
    return document


def test_a_flipped_bit_in_any_payload_byte_fails_ours_and_securesystemslib():
    envelope = receipt()
    payload = base64.b64decode(envelope.payload)
    for index in range(len(payload)):
        document = _with(envelope, payload=_flip(payload, index))
        with pytest.raises(SignatureInvalid):
            verify_payload(validate(Envelope, document), TRUST)
        with pytest.raises(sslib_exceptions.VerificationError):
            sslib_verify(document, KEY)


def test_a_flipped_bit_in_any_signature_byte_fails_ours_and_securesystemslib():
    envelope = receipt()
    sig = base64.b64decode(envelope.signatures[0].sig)
    assert len(sig) == 64
    for index in range(len(sig)):
        document = _with(envelope, sig=_flip(sig, index))
        with pytest.raises(SignatureInvalid):
            verify_payload(validate(Envelope, document), TRUST)
        with pytest.raises(sslib_exceptions.VerificationError):
            sslib_verify(document, KEY)


def test_a_changed_keyid_character_fails():
    envelope = receipt()
    keyid = envelope.signatures[0].keyid
    for index in range(len(keyid)):
        changed = keyid[:index] + ("0" if keyid[index] != "0" else "1") + keyid[index + 1 :]
        with pytest.raises(UntrustedKey):
            verify_envelope(validate(Envelope, _with(envelope, keyid=changed)), TRUST)


def test_any_changed_byte_of_the_envelope_file_fails(tmp_path):
    data = envelope_bytes(receipt())
    path = tmp_path / "r.json"
    for index in range(len(data) - 1):  # the last byte is the newline
        path.write_bytes(_flip(data, index))
        with pytest.raises(ReceiptcoreError):
            verify_envelope(read_envelope(path), TRUST)


def test_non_canonical_base64_is_refused():
    envelope = receipt()
    document = envelope.to_json_obj()
    sig = document["signatures"][0]["sig"]
    assert sig.endswith("==")
    # The character before '==' carries 4 bits that decoders ignore: set one of them.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = sig[-3]
    document["signatures"][0]["sig"] = sig[:-3] + alphabet[alphabet.index(last) ^ 1] + "=="
    assert base64.b64decode(document["signatures"][0]["sig"]) == base64.b64decode(sig)
    with pytest.raises(SignatureInvalid, match="canonical base64"):
        verify_envelope(validate(Envelope, document), TRUST)


def test_url_safe_base64_is_accepted_as_dsse_requires():
    # A uri whose bytes make '+' and '/' appear in the standard encoding of the payload.
    document = next(
        d for d in (receipt(uri=f"s3://models/idx/{n}?~>~?").to_json_obj() for n in range(100))
        if "+" in d["payload"] and "/" in d["payload"]
    )
    urlsafe = {"+": "-", "/": "_"}
    document["payload"] = document["payload"].translate(str.maketrans(urlsafe))
    signature = document["signatures"][0]
    signature["sig"] = signature["sig"].translate(str.maketrans(urlsafe))
    assert verify_envelope(validate(Envelope, document), TRUST).artifact_commit == H2


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda sig: sig.rstrip("="), "not valid base64"),  # padding is required
        (lambda sig: "-" + sig[1:-3] + "+==", "mixes the standard and URL-safe"),
        (lambda sig: sig[:10] + "\n" + sig[10:], "sig"),  # refused by the contract's pattern
    ],
)
def test_unpadded_mixed_or_broken_base64_is_refused(change, reason):
    document = receipt().to_json_obj()
    document["signatures"][0]["sig"] = change(document["signatures"][0]["sig"])
    with pytest.raises((SignatureInvalid, SchemaError), match=reason):
        verify_envelope(validate(Envelope, document), TRUST)


def test_a_key_not_in_the_trust_file_is_untrusted():
    stranger = SigningKey.generate()
    with pytest.raises(UntrustedKey, match=stranger.keyid):
        verify_envelope(receipt(key=stranger), TRUST)


def test_a_trusted_keyid_with_another_key_s_signature_is_invalid():
    stranger = SigningKey.generate()
    forged = _with(receipt(key=stranger), keyid=KEY.keyid)
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_envelope(validate(Envelope, forged), TRUST)


def test_a_second_untrusted_signature_does_not_block_a_trusted_one():
    stranger = SigningKey.generate()
    document = receipt().to_json_obj()
    document["signatures"].insert(0, receipt(key=stranger).to_json_obj()["signatures"][0])
    assert verify_envelope(validate(Envelope, document), TRUST).artifact_commit == H2


def test_a_signed_payload_that_is_not_a_receipt_is_a_schema_error():
    envelope = sign_payload(b'{"_type": "https://in-toto.io/Statement/v1"}', KEY)
    with pytest.raises(SchemaError, match="receipt payload: subject: required field is missing"):
        verify_envelope(envelope, TRUST)


def test_another_payload_type_is_refused():
    document = receipt().to_json_obj()
    document["payloadType"] = "text/plain"
    with pytest.raises(SchemaError, match="payloadType"):
        validate(Envelope, document)


def test_bad_receipt_fields_are_refused_before_signing():
    with pytest.raises(SchemaError, match=r"subject\[0\]\.digest\.sha256"):
        receipt(artifact_commit="md5:" + H)
    # a commit is accepted in either spelling; the receipt carries the bare hex
    assert receipt(artifact_commit="sha256:" + H) == receipt(artifact_commit=H)
    with pytest.raises(SchemaError, match=r"subject\[0\]\.name"):
        receipt(artifact_id="../escape")


def test_write_and_read_round_trip_and_unverified_view(tmp_path):
    envelope = receipt()
    write_envelope(tmp_path / "r.intoto.json", envelope)
    again = read_envelope(tmp_path / "r.intoto.json")
    assert again == envelope
    assert unverified_statement(again) == verify_envelope(again, TRUST)
    assert (tmp_path / "r.intoto.json").read_bytes().count(b"\n") == 1


def test_many_envelopes_checked_at_once_give_what_each_gives_alone():
    envelopes = [receipt(uri=f"s3://models/idx/{n}") for n in range(5)]
    assert verify_envelopes(envelopes, TRUST) == [verify_envelope(e, TRUST) for e in envelopes]
    assert verify_envelopes([], TRUST) == []


def test_many_envelopes_raise_the_error_of_the_first_that_fails():
    stranger = SigningKey.generate()
    forged = validate(Envelope, _with(receipt(key=stranger), keyid=KEY.keyid))
    not_a_receipt = sign_payload(b'{"_type": "https://in-toto.io/Statement/v1"}', KEY)
    good = receipt()
    with pytest.raises(SignatureInvalid):
        verify_envelopes([good, forged, receipt(key=stranger), not_a_receipt], TRUST)
    with pytest.raises(SchemaError, match="receipt payload"):
        verify_envelopes([good, not_a_receipt, forged], TRUST)
    with pytest.raises(UntrustedKey):
        verify_envelopes([receipt(key=stranger), forged], TRUST)


def test_a_later_signature_by_a_key_that_already_verified_is_not_read():
    # As a one-at-a-time check: the key verified, so its second (broken) signature is skipped.
    document = receipt().to_json_obj()
    sig = document["signatures"][0]["sig"]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    not_canonical = sig[:-3] + alphabet[alphabet.index(sig[-3]) ^ 1] + "=="
    document["signatures"].append(dict(document["signatures"][0], sig=not_canonical))
    envelope = validate(Envelope, document)
    reversed_ = validate(Envelope, dict(document, signatures=document["signatures"][::-1]))
    with pytest.raises(SignatureInvalid, match="canonical base64"):
        verify_envelopes([reversed_], TRUST)  # reached first, it is read and refused
    assert verify_envelopes([envelope], TRUST) == [verify_envelope(envelope, TRUST)]

"""DSSE v1 envelopes signed with Ed25519, exactly as the spec says.

https://github.com/secure-systems-lab/dsse/blob/master/protocol.md: the signature covers
``PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body``, where LEN is the
length **in bytes**, as ASCII decimal without leading zeros, and ``body`` is the raw payload
(not its base64). Signing the PAE rather than the payload binds the payload type, so a signature
made for one type cannot be replayed under another.

Base64 is read as DSSE requires (standard or URL-safe alphabet; we write standard) but strictly:
only the canonical, padded encoding of some bytes in that alphabet is accepted, so a changed
character is always a failure, never another text for the same bytes.

Signatures are checked natively (``receiptcore._core.ed25519_verify_many``, strict RFC 8032:
a key or ``R`` of small order is refused too, which OpenSSL's check lets through), many per
call and with the GIL released, so a server checks a request's receipts off its event loop.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from receiptcore._core import ed25519_verify_many
from receiptcore.contracts import PAYLOAD_TYPE, Envelope, validate
from receiptcore.errors import LimitExceeded, ReceiptcoreError, SignatureInvalid, UntrustedKey
from receiptcore.signing.keys import SigningKey
from receiptcore.signing.trust import Trust


def pae(payload_type: str, payload: bytes) -> bytes:
    """The DSSE v1 pre-authentication encoding of a payload and its type."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(payload), payload)


def sign_payload(payload: bytes, key: SigningKey, payload_type: str = PAYLOAD_TYPE) -> Envelope:
    """An envelope holding ``payload`` with one Ed25519 signature by ``key``."""
    signature = key.sign(pae(payload_type, payload))
    return validate(
        Envelope,
        {
            "payload": _b64(payload),
            "payloadType": payload_type,
            "signatures": [{"keyid": key.keyid, "sig": _b64(signature)}],
        },
        "envelope",
    )


MAX_SIGNATURES = 16
"""Signatures read per envelope at most: a receipt has one signature, a few if several parties
co-sign. More are refused before any is checked, so an envelope stuffed with signatures under
a trusted key id costs no more than one with sixteen."""


def verify_payload(envelope: Envelope, trust: Trust) -> tuple[bytes, list[str]]:
    """The payload bytes and the ids of the trusted keys whose signatures over it verify.

    Accepts when at least one signature by a trusted key verifies. Raises LimitExceeded for an
    envelope with more than :data:`MAX_SIGNATURES` signatures, UntrustedKey when no signature
    names a trusted key, SignatureInvalid when the trusted keys' signatures do not verify.
    """
    answer = verify_payloads([envelope], trust)[0]
    if isinstance(answer, ReceiptcoreError):
        raise answer
    return answer


def verify_payloads(
    envelopes: Sequence[Envelope], trust: Trust
) -> list[tuple[bytes, list[str]] | ReceiptcoreError]:
    """:func:`verify_payload` of each envelope: its answer, or the error it fails with (given,
    not raised, so that a caller checking many in order names the first failure). Every
    signature is checked in one native call with the GIL released: ``receiptcore serve``
    checks a whole request so while its event loop goes on."""
    plans = [_plan(envelope, trust) for envelope in envelopes]
    checks = [
        (key, message, raw)
        for plan in plans
        if not isinstance(plan, ReceiptcoreError)
        for _, (key, message, raw, _) in plan[1]
        if key
    ]
    results = iter(ed25519_verify_many(checks))
    answers: list[tuple[bytes, list[str]] | ReceiptcoreError] = []
    for plan in plans:
        if isinstance(plan, ReceiptcoreError):
            answers.append(plan)
            continue
        payload, signatures = plan
        done = [(keyid, check, next(results) if check[0] else False) for keyid, check in signatures]
        try:
            answers.append((payload, _decide(done)))
        except ReceiptcoreError as error:
            answers.append(error)
    return answers


def _plan(envelope: Envelope, trust: Trust):
    """What checking ``envelope`` takes: its payload and, for each signature, its key id and
    ``(public key, message, raw signature, error)``: the key empty when the trust file lacks
    it, the error when the signature is not valid base64 (raised only if it is reached). Or the
    error the envelope fails with before any signature is checked."""
    if len(envelope.signatures) > MAX_SIGNATURES:
        return LimitExceeded(
            f"envelope has {len(envelope.signatures)} signatures; at most {MAX_SIGNATURES} "
            "are read",
            check="signature",
        )
    try:
        payload = b64decode_strict(envelope.payload, "payload")
    except SignatureInvalid as error:
        return error
    message = pae(envelope.payload_type, payload)
    signatures = []
    for signature in envelope.signatures:
        public_key = trust.public_key(signature.keyid)
        check: tuple[bytes, bytes, bytes, SignatureInvalid | None] = (b"", b"", b"", None)
        if public_key is not None:
            try:
                check = (public_key, message, b64decode_strict(signature.sig, "signature"), None)
            except SignatureInvalid as error:
                check = (b"", b"", b"", error)
        signatures.append((signature.keyid, check))
    return payload, signatures


def _decide(signatures: list[tuple[str, tuple, bool]]) -> list[str]:
    """The trusted key ids whose signatures verified, walking the signatures in order as a
    one-at-a-time check does (a key's later signatures are not read once one verified)."""
    verified: list[str] = []
    trusted_but_bad: list[str] = []
    for keyid, (public_key, _, _, error), ok in signatures:
        if (not public_key and error is None) or keyid in verified:
            continue
        if error is not None:
            raise error
        (verified if ok else trusted_but_bad).append(keyid)
    if verified:
        return verified
    if trusted_but_bad:
        raise SignatureInvalid(
            f"the signature by trusted key {trusted_but_bad[0]} does not verify: the envelope "
            "was changed after signing, or was not signed by that key"
        )
    named = ", ".join(keyid for keyid, _, _ in signatures)
    raise UntrustedKey(f"signed by key {named}, which the trust file does not list")


def b64decode_strict(text: str, what: str) -> bytes:
    """RFC 4648 base64, standard or URL-safe alphabet (DSSE verifiers must take either), padded,
    and in its one canonical form (no stray bits in the last character); else SignatureInvalid.
    """
    urlsafe = "-" in text or "_" in text
    if urlsafe and ("+" in text or "/" in text):
        raise SignatureInvalid(f"envelope {what} mixes the standard and URL-safe base64 alphabets")
    altchars = b"-_" if urlsafe else None
    try:
        data = base64.b64decode(text, altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureInvalid(f"envelope {what} is not valid base64") from None
    if base64.b64encode(data, altchars=altchars).decode("ascii") != text:
        raise SignatureInvalid(f"envelope {what} is not in canonical base64")
    return data


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")

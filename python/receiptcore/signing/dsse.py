"""DSSE v1 envelopes signed with Ed25519, exactly as the spec says.

https://github.com/secure-systems-lab/dsse/blob/master/protocol.md: the signature covers
``PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body``, where LEN is the
length **in bytes**, as ASCII decimal without leading zeros, and ``body`` is the raw payload
(not its base64). Signing the PAE rather than the payload binds the payload type, so a signature
made for one type cannot be replayed under another.

Base64 is read as DSSE requires (standard or URL-safe alphabet; we write standard) but strictly:
only the canonical, padded encoding of some bytes in that alphabet is accepted, so a changed
character is always a failure, never another text for the same bytes.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from receiptcore.contracts import PAYLOAD_TYPE, Envelope, validate
from receiptcore.errors import LimitExceeded, SignatureInvalid, UntrustedKey
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
    if len(envelope.signatures) > MAX_SIGNATURES:
        raise LimitExceeded(
            f"envelope has {len(envelope.signatures)} signatures; at most {MAX_SIGNATURES} "
            "are read",
            check="signature",
        )
    payload = b64decode_strict(envelope.payload, "payload")
    message = pae(envelope.payload_type, payload)
    verified: list[str] = []
    trusted_but_bad = []
    for signature in envelope.signatures:
        public_key = trust.public_key(signature.keyid)
        if public_key is None or signature.keyid in verified:
            continue
        raw_signature = b64decode_strict(signature.sig, "signature")
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(raw_signature, message)
        except InvalidSignature:
            trusted_but_bad.append(signature.keyid)
            continue
        verified.append(signature.keyid)
    if verified:
        return payload, verified
    if trusted_but_bad:
        raise SignatureInvalid(
            f"the signature by trusted key {trusted_but_bad[0]} does not verify: the envelope "
            "was changed after signing, or was not signed by that key"
        )
    named = ", ".join(s.keyid for s in envelope.signatures)
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

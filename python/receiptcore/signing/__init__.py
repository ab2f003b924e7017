"""Signing: Ed25519 keys (:mod:`.keys`), the trust file (:mod:`.trust`), DSSE envelopes
(:mod:`.dsse`) and artifact receipts (:mod:`.receipts`).

Only light facts live here, so that the command line can show them without loading
cryptography and pydantic.
"""

DEFAULT_ISSUER = "receiptcore"
"""Who a receipt says signed it when the publisher names nobody (a CI sets ``--issuer``)."""

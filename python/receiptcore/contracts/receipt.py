"""The artifact receipt: an in-toto Statement v1 about one artifact, the DSSE envelope that
carries it signed, and the trust file that says whose signatures count.

Formats followed exactly: in-toto Attestation Framework, Statement layer v1
(https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md) and DSSE v1
(https://github.com/secure-systems-lab/dsse/blob/master/envelope.md).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from receiptcore.contracts._base import (
    Identifier,
    NonEmptyText,
    SchemaVersion,
    SchemaVersion2,
    Sha256Hex,
    StrictModel,
    Uri,
)

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://receiptcore.dev/ArtifactReceipt/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"

KeyId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Base64 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/_-]*={0,2}$")]
"""RFC 4648 base64, standard or URL-safe alphabet (DSSE allows either), padded."""
Ed25519PublicKeyHex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class SubjectDigest(StrictModel):
    sha256: Sha256Hex = Field(
        description="The artifact_commit: sha256 of the artifact's bytes (for a tree, of its "
        "tree manifest's RFC 8785 bytes)."
    )


class Subject(StrictModel):
    """An in-toto ResourceDescriptor: the artifact's id, its commit and, for a tree, its kind."""

    name: Identifier = Field(description="The artifact_id.")
    digest: SubjectDigest
    media_type: Literal["application/vnd.receiptcore.tree+json"] = Field(
        default=None,  # type: ignore[assignment] - absent, never null: see exclude_if
        alias="mediaType",
        exclude_if=lambda value: value is None,
        json_schema_extra=lambda schema: schema.pop("default", None),  # absent, not null
        description="Present only for a tree artifact, whose bytes are its tree manifest "
        "(tree_manifest.schema.json); absent for a file.",
    )

    @property
    def is_tree(self) -> bool:
        return self.media_type is not None


class ReceiptPredicate(StrictModel):
    """What the issuer asserts about the artifact, besides its id and commit."""

    schema_version: SchemaVersion = Field(description="Major version of the receipt contract.")
    uri: Uri = Field(
        description="Where the bytes can be fetched: a URI with a known scheme (`file://`, "
        "`s3://`, `gs://`, `https://`...)."
    )
    build_manifest_commit: Sha256Hex = Field(
        description="Commit of the build manifest that lists this artifact among its outputs."
    )
    dataset_manifest_commits: list[Sha256Hex] = Field(
        description="Commits of the dataset manifests the build read, sorted, each once.",
        json_schema_extra={"uniqueItems": True},
    )
    issuer: NonEmptyText = Field(description="Who signed: a CI identity, e.g. `ci@models-host`.")

    @field_validator("dataset_manifest_commits")
    @classmethod
    def _sorted_unique(cls, commits: list[str]) -> list[str]:
        if commits != sorted(set(commits)):
            raise ValueError("commits must be sorted and unique")
        return commits


class Statement(StrictModel):
    """An in-toto Statement v1 whose one subject is the artifact."""

    model_config = StrictModel.model_config | {"title": "ArtifactReceipt"}

    type_: Literal["https://in-toto.io/Statement/v1"] = Field(
        alias="_type", description="The in-toto Statement type, v1."
    )
    subject: list[Subject] = Field(
        min_length=1, max_length=1, description="Exactly one subject: the artifact."
    )
    predicate_type: Literal["https://receiptcore.dev/ArtifactReceipt/v1"] = Field(
        alias="predicateType", description="Names (and versions) the predicate."
    )
    predicate: ReceiptPredicate

    @property
    def artifact_id(self) -> str:
        return self.subject[0].name

    @property
    def artifact_commit(self) -> str:
        return self.subject[0].digest.sha256

    @property
    def is_tree(self) -> bool:
        """Whether the artifact is a tree (a folder): its subject's mediaType says so."""
        return self.subject[0].is_tree


class EnvelopeSignature(StrictModel):
    keyid: KeyId = Field(description="sha256 (hex) of the signer's raw 32-byte Ed25519 public key.")
    sig: Base64 = Field(description="Ed25519 signature over PAE(payloadType, payload), base64.")


class Envelope(StrictModel):
    """A DSSE v1 envelope. ``payload`` is the base64 of the Statement's bytes."""

    model_config = StrictModel.model_config | {"title": "DsseEnvelope"}

    payload: Base64 = Field(
        description="base64 of the payload: standard alphabet (what receiptcore writes) or "
        "URL-safe, padded."
    )
    payload_type: Literal["application/vnd.in-toto+json"] = Field(
        alias="payloadType", description="The payload's media type."
    )
    signatures: list[EnvelopeSignature] = Field(min_length=1)


class TrustedKey(StrictModel):
    keyid: KeyId = Field(description="sha256 (hex) of the raw public key; checked on load.")
    algorithm: Literal["ed25519"]
    public_key: Ed25519PublicKeyHex = Field(description="The raw 32-byte public key, hex.")
    name: NonEmptyText = Field(description="Whose key this is, for people reading the file.")


class TrustFile(StrictModel):
    """The public keys whose receipts a verifier accepts (version 1: still read, no longer
    written)."""

    model_config = StrictModel.model_config | {"title": "TrustFile"}

    kind: Literal["trust"] = Field(description="Names the contract.")
    schema_version: SchemaVersion = Field(description="Major version of the contract.")
    keys: list[TrustedKey]

    @field_validator("keys")
    @classmethod
    def _unique_keyids(cls, keys: list[TrustedKey]) -> list[TrustedKey]:
        return _each_once(keys, "is listed twice")


# --- version 2 of the trust contract: roles and revocations -----------------------------------

Role = Literal["receipts", "ledger"]
Timestamp = Annotated[
    str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
]
"""A moment in UTC, RFC 3339 with seconds and ``Z``: ``2026-11-01T00:00:00Z``."""


class RoleKey(StrictModel):
    """A trusted public key and what it may sign."""

    model_config = StrictModel.model_config | {"title": "RoleKey"}

    keyid: KeyId = Field(description="sha256 (hex) of the raw public key; checked on load.")
    algorithm: Literal["ed25519"]
    public_key: Ed25519PublicKeyHex = Field(description="The raw 32-byte public key, hex.")
    name: NonEmptyText = Field(
        description="Whose key this is. For a `ledger` key, the key's name in the ledger's "
        "signed notes, which is the ledger's origin (no spaces, no `+`)."
    )
    role: Role = Field(
        description="`receipts`: may sign artifact receipts. `ledger`: signs the checkpoints "
        "of the ledger whose origin is `name`."
    )


class Revocation(StrictModel):
    """A receipt key withdrawn from a moment on."""

    keyid: KeyId = Field(description="The revoked key; it must be listed under `keys`.")
    from_: Timestamp = Field(
        alias="from",
        description="From this moment (UTC) on, receipts the key signed are refused; when a "
        "receipt was signed is when the ledger logged it, by the time in its signed checkpoint.",
    )
    reason: NonEmptyText = Field(description="Why, for the person who meets the refusal.")


class TrustFileV2(StrictModel):
    """Whom a verifier trusts, and for what: receipt signers, the ledger's checkpoint key, and
    revocations."""

    model_config = StrictModel.model_config | {"title": "TrustFile"}

    kind: Literal["trust"] = Field(description="Names the contract.")
    schema_version: SchemaVersion2 = Field(description="Major version of the contract.")
    keys: list[RoleKey] = Field(description="Every trusted key, each once, with its role.")
    revocations: list[Revocation] = Field(description="Revoked receipt keys, each at most once.")

    @field_validator("keys")
    @classmethod
    def _unique_keyids(cls, keys: list[RoleKey]) -> list[RoleKey]:
        return _each_once(keys, "is listed twice")

    @field_validator("revocations")
    @classmethod
    def _one_revocation_per_key(cls, revocations: list[Revocation]) -> list[Revocation]:
        return _each_once(revocations, "is revoked twice")


def _each_once(items: list, problem: str) -> list:
    """``items`` if no two have the same ``keyid``; else a ValueError naming it."""
    seen: set[str] = set()
    for item in items:
        if item.keyid in seen:
            raise ValueError(f"key id {item.keyid} {problem}")
        seen.add(item.keyid)
    return items

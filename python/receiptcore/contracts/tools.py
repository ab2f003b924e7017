"""Requests and responses of the three tools the runtime calls.

A request names what it wants by reference (ids and commits), never by content: heavy bytes stay
out of the runtime, and every reference can be checked against a receipt before use.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, JsonValue

from receiptcore.contracts._base import Count, Identifier, NonEmptyText, Sha256Hex, StrictModel

Score = Annotated[float, Field(allow_inf_nan=False)]


class ArtifactRef(StrictModel):
    """An artifact, by id and by the commit of its bytes."""

    artifact_id: Identifier
    commit: Sha256Hex = Field(description="The artifact_commit the caller expects.")


class IndexRef(StrictModel):
    """A searchable index: its logical id, and the artifact (id and commit) that holds it."""

    index_id: Identifier
    artifact_id: Identifier
    commit: Sha256Hex = Field(description="The artifact_commit of the index's bytes.")


class RagQueryRequest(StrictModel):
    index: IndexRef
    query: Annotated[str, Field(min_length=1, max_length=8192)] = Field(
        description="The question, as text."
    )
    top_k: int = Field(ge=1, le=100, description="How many passages to return.")


class RagHit(StrictModel):
    rank: int = Field(ge=1, description="1 for the best match.")
    score: Score = Field(description="Similarity; higher is closer. Comparable within one index.")
    doc_id: NonEmptyText = Field(description="Id of the passage within the index.")
    text: str = Field(description="The passage.")
    metadata: dict[str, JsonValue] = Field(description="Whatever the index stored with it.")


class RagQueryResponse(StrictModel):
    index: IndexRef = Field(description="The index that answered, as verified.")
    hits: list[RagHit]


class ArtifactFetchRequest(StrictModel):
    artifact: ArtifactRef


class ArtifactFetchResponse(StrictModel):
    artifact: ArtifactRef
    uri: NonEmptyText = Field(description="Where the verified bytes are now (e.g. `file://`).")
    size: Count = Field(description="Size in bytes.")


class ReceiptVerifyRequest(StrictModel):
    artifact: ArtifactRef


class VerifyCheck(StrictModel):
    name: Literal["signature", "trust", "inclusion", "consistency", "digest"] = Field(
        description="Which check."
    )
    ok: bool
    detail: str = Field(description="One line a person can act on.")


class ReceiptVerifyResponse(StrictModel):
    artifact: ArtifactRef
    verified: bool = Field(description="True only if every check passed.")
    mode: Literal["enforce", "warn"] = Field(
        description="`warn` reports failures without refusing use (the rollback switch)."
    )
    checks: list[VerifyCheck]
    ledger_index: Count | None = Field(description="The receipt's entry in the ledger, if found.")

"""The artifact reference: what stays in a repository where an externalized file or folder was.

``receiptcore externalize`` writes one per artifact, beside where the asset was
(``models/encoder.artifact.json`` for the folder ``models/encoder/``), and ``receiptcore pull``
reads it back. It holds the reference ``{artifact_id, uri, artifact_commit}`` of the plan and
what a reviewer wants to see in a pull request: the kind, the size, how many files, and the
ledger entry of the receipt. It proves nothing by itself: ``pull`` (and the gate) check it
against the receipts in the ledger, signed by a key in the trust file.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from receiptcore.contracts._base import (
    MAX_SAFE_INTEGER,
    Count,
    Identifier,
    NonEmptyText,
    SchemaVersion,
    Sha256Hex,
    StrictModel,
)


class ArtifactReference(StrictModel):
    """A reference file: the artifact an externalized path became.

    Written in RFC 8785 form followed by one newline, as ``<path>.artifact.json``.
    """

    model_config = StrictModel.model_config | {
        "title": "ArtifactReference",
        "json_schema_extra": {
            "$comment": "stored as RFC8785(document) + LF in <path>.artifact.json, beside <path>"
        },
    }

    kind: Literal["file", "tree"] = Field(
        description="What the path was: a file (artifact_commit is its sha256) or a folder "
        "(a tree artifact: artifact_commit is the sha256 of its tree manifest)."
    )
    schema_version: SchemaVersion = Field(description="Major version of the contract.")
    artifact_id: Identifier = Field(description="The artifact id its receipt names.")
    artifact_commit: Sha256Hex = Field(description="The version of the id: sha256, lowercase hex.")
    uri: NonEmptyText = Field(description="Where the store keeps it when it was published.")
    size: Count = Field(description="Bytes: the file's, or the sum of the tree's files.")
    files: Annotated[int, Field(ge=1, le=MAX_SAFE_INTEGER)] = Field(
        description="How many files: 1 for a file."
    )
    ledger_index: Count = Field(description="The ledger entry of its receipt when it was published.")

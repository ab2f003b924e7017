"""Version 2 of the three tools' requests and responses: what ``receiptcore mcp`` serves.

What changed from v1 (and why a new version, since readers are strict):

- every response may carry ``warnings``: in ``warn`` mode a failed check is reported beside
  the data instead of refusing it (the rollback switch), and a failure in ``enforce`` mode is an
  error result whose body is one :class:`ToolError` (``$defs/error`` of each tool's schema);
- ``receipt.verify`` returns its **proofs** (:class:`ReceiptProof`: the ledger entry, the
  inclusion proof, the signed checkpoint, a consistency proof from the size the caller names
  in ``since``), so that a client checks them against its own trust file and pinned checkpoint;
- ``artifact.fetch`` says where the verified bytes can be read (``uri``: the server's HTTP
  endpoint or an object store URL, never a server-local path, else null) and, given a
  ``range``, returns the bytes themselves in a bounded chunk;
- ``rag.query`` hits name the document path, the chunk number and the sha256 of the chunk text
  of the verified chunk table, and the response carries its provenance (index, model and chunk
  table, each with its ledger entry, and the checkpoint size they were checked under).

Requests still name everything by reference: the server refuses payload-like values (raw text
blobs, vectors, paths, URLs) before anything runs (:mod:`receiptcore.contracts.requests`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from receiptcore.contracts._base import (
    Count,
    Identifier,
    NonEmptyText,
    RelativePosixPath,
    Sha256Hex,
    StrictModel,
)
from receiptcore.contracts.tools import (
    ArtifactRef,
    IndexRef,
    RagQueryRequest,  # noqa: F401 - unchanged in v2
    Score,
    VerifyCheck,
)

MAX_CHUNK = 1 << 20
"""The most bytes one ``artifact.fetch`` call returns (a server may cap lower)."""

MAX_PROOF_HASHES = 64
"""A Merkle proof in a tree of up to 2**64 entries has at most 64 hashes (128 for consistency)."""

Hashes = Annotated[list[Sha256Hex], Field(max_length=2 * MAX_PROOF_HASHES)]
Mode = Literal["enforce", "warn"]


class ToolError(StrictModel):
    """Why a tool refused, machine-readable: the error class and exit code of the catalogue."""

    reason: Identifier = Field(
        description="The error class of receiptcore.errors, e.g. `NotInLedger`."
    )
    exit_code: Annotated[int, Field(ge=0, le=255)] = Field(
        description="Its exit code (the `receiptcore` command exits with it)."
    )
    exit_name: Identifier = Field(description="The exit code's name, e.g. `not_in_ledger`.")
    check: Literal["signature", "trust", "inclusion", "consistency", "digest"] | None = Field(
        description="The verification check it fails, or null when it is not a check."
    )
    message: NonEmptyText = Field(description="One line a person can act on.")

    @classmethod
    def of(cls, error: BaseException) -> ToolError:
        """An exception as the contract's machine-readable error (the catalogue's code)."""
        from receiptcore.errors import check_for, exit_code_for

        code = exit_code_for(error)
        message = (str(error) or type(error).__name__).splitlines()[0][:4096]
        return cls(
            reason=type(error).__name__,
            exit_code=int(code),
            exit_name=code.name.lower(),
            check=check_for(error),
            message=message,
        )

    def to_exception(self) -> Exception:
        """The catalogue's exception for this error (ToolServerError for a reason it lacks)."""
        from receiptcore.errors import ReceiptcoreError, ToolServerError, error_class

        cls = error_class(self.reason)
        if cls is None or cls is ReceiptcoreError:
            return ToolServerError(f"{self.message} (tool server error {self.reason})")
        return cls(self.message)


class ToolErrorResult(StrictModel):
    """The body of an error result (``isError: true``): the one failure, and no data."""

    error: ToolError


class InclusionProof(StrictModel):
    """RFC 6962 ``PATH(ledger_index, D[tree_size])``, leaf side first."""

    tree_size: Count
    hashes: Hashes


class ConsistencyProof(StrictModel):
    """RFC 6962 ``PROOF(from_size, D[to_size])``."""

    from_size: Count
    to_size: Count
    hashes: Hashes


class ReceiptProof(StrictModel):
    """What a client needs to check a receipt without trusting the server."""

    entry: Annotated[str, Field(min_length=1, max_length=1 << 16)] = Field(
        description="The ledger entry exactly as logged: the DSSE envelope as one line of JSON. "
        "Its RFC 6962 leaf hash, sha256(0x00 || UTF-8 bytes), is what `inclusion` proves."
    )
    ledger_index: Count = Field(description="The entry's index in the ledger.")
    inclusion: InclusionProof
    checkpoint: Annotated[str, Field(min_length=1, max_length=1 << 14)] = Field(
        description="The C2SP signed checkpoint note of size `inclusion.tree_size`."
    )
    consistency: ConsistencyProof | None = Field(
        description="From the size the request named in `since` to the checkpoint; null when "
        "none was asked or the server has no such size (the client then refuses a rollback)."
    )
    ledger_key: Annotated[str, Field(min_length=1, max_length=512)] = Field(
        description="The ledger's verifier key as the server states it. A client checks with its "
        "own configured or pinned key, and takes this one only on first use."
    )


class ReceiptVerifyRequest(StrictModel):
    artifact: ArtifactRef
    since: Count | None = Field(
        default=None,
        description="The checkpoint size the caller trusted last: the response then carries a "
        "consistency proof from it.",
    )


class ReceiptVerifyResponse(StrictModel):
    artifact: ArtifactRef
    verified: bool = Field(description="True only if every check passed on the server.")
    mode: Mode = Field(description="`warn`: failures are reported in `warnings`, not refused.")
    checks: list[VerifyCheck]
    ledger_index: Count | None = Field(description="The receipt's entry in the ledger, if found.")
    checkpoint_size: Count | None = Field(description="The checkpoint it was checked under.")
    proof: ReceiptProof | None = Field(description="Null only when no receipt was found.")
    warnings: list[ToolError] = Field(description="Failures reported in `warn` mode.")


class ByteRange(StrictModel):
    offset: Count = Field(description="First byte, from 0.")
    length: Annotated[int, Field(ge=1, le=MAX_CHUNK)] = Field(
        description="How many bytes (at most the server's cap; fewer at the end)."
    )


class ArtifactFetchRequest(StrictModel):
    artifact: ArtifactRef
    range: ByteRange | None = Field(
        default=None, description="Return these bytes in the response (else only where they are)."
    )
    file: Count | None = Field(
        default=None,
        description="For a tree artifact: the file, by its number in the tree's file list (no "
        "path is ever sent). Null: the artifact itself (a tree's file list).",
    )


class Chunk(StrictModel):
    offset: Count
    length: Count
    data: Annotated[str, Field(max_length=4 * (MAX_CHUNK // 3 + 1))] = Field(
        description="The bytes, base64 (RFC 4648, padded)."
    )
    eof: bool = Field(description="True when the chunk ends at the end of the bytes.")


class FetchedFile(StrictModel):
    """The file of a tree that was asked for, as the tree's file list names it."""

    number: Count
    path: RelativePosixPath
    size: Count
    sha256: Sha256Hex


class ArtifactFetchResponse(StrictModel):
    artifact: ArtifactRef
    kind: Literal["file", "tree"]
    size: Count = Field(description="Size in bytes of what `file` names (else the artifact).")
    uri: NonEmptyText | None = Field(
        description="Where the verified bytes can be read: the server's HTTP endpoint or the "
        "object store's URL, never a server-local path; null when there is neither (then read "
        "them with `range`)."
    )
    file: FetchedFile | None = Field(description="The tree's file that was asked for.")
    chunk: Chunk | None = Field(description="The bytes of `range`, when one was asked.")
    ledger_index: Count | None
    checkpoint_size: Count | None
    warnings: list[ToolError]


class RagHit(StrictModel):
    rank: int = Field(ge=1, description="1 for the best match.")
    score: Score = Field(description="Cosine similarity; higher is closer.")
    path: NonEmptyText = Field(description="The document (corpus-relative path).")
    chunk: Count = Field(description="The chunk's number within its document.")
    row: Count = Field(description="The chunk table's row (the index key).")
    text: Annotated[str, Field(max_length=1 << 16)] = Field(
        description="The chunk text, from the verified chunk table."
    )
    sha256: Sha256Hex = Field(description="sha256 of the text's UTF-8, as the table records it.")


class Provenance(StrictModel):
    """An artifact a query used, as verified."""

    artifact_id: Identifier
    commit: Sha256Hex
    ledger_index: Count | None


class RagProvenance(StrictModel):
    index: Provenance
    model: Provenance
    chunks: Provenance
    checkpoint_size: Count | None = Field(description="The checkpoint all were checked under.")


class RagQueryResponse(StrictModel):
    index: IndexRef = Field(description="The index that answered, as verified.")
    hits: list[RagHit]
    provenance: RagProvenance
    warnings: list[ToolError]

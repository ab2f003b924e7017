"""The error catalogue: every failure receiptcore reports, its exit code, and the check it fails.

This module is the one place where a failure meets a number. Each exception class carries
``exit_code`` (an :class:`ExitCode`) and, when it is a verification failure, ``check`` (the
verdict's check it fails: trust, signature, inclusion, consistency or digest). The native core
creates four of the classes (so Rust can raise them); they get their attributes here, like the
rest. :func:`exit_code_for` is the only function that turns an exception into a number; the CLI's
``--help``, the README and ``receipt.verify`` verdicts all read this table (see
:func:`list_all_errors`), and a test proves each code unique and reachable.

File-system failures stay ordinary ``OSError`` subclasses (``FileNotFoundError``,
``IsADirectoryError``...) whose ``filename`` names the path.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal, Self

from receiptcore._core import CanonicalizationError, FileChangedError, GitError, ReceiptcoreError

Check = Literal["trust", "signature", "inclusion", "consistency", "digest"]


class ExitCode(IntEnum):
    """Every exit code of the ``receiptcore`` command, with what it means."""

    meaning: str

    def __new__(cls, value: int, meaning: str) -> Self:
        member = int.__new__(cls, value)
        member._value_ = value
        member.meaning = meaning
        return member

    OK = 0, "success"
    FAILED = 1, "the check ran and failed (verification failure, scan findings)"
    USAGE = 2, "usage or configuration error (bad flags, bad config, trust file, unknown algo)"
    IO = 3, "a file could not be read (missing, unreadable, a directory...)"
    FILE_CHANGED = 4, "a file changed while it was being hashed"
    INVALID_DOCUMENT = 5, "a document is not valid JSON or breaks its contract"
    BAD_SIGNATURE = 6, "a signature does not verify"
    UNTRUSTED_KEY = 7, "signed by a key the trust file does not list"
    SIGNING_KEY = 8, "signing key missing, unreadable, not Ed25519, or would be overwritten"
    DIGEST_MISMATCH = 9, "bytes do not match their claimed commit"
    OBJECT_NOT_FOUND = 10, "the artifact store has no object for that commit"
    NOT_IN_LEDGER = 11, "no receipt for the artifact in the ledger"
    PROOF = 12, "a Merkle inclusion or consistency proof does not verify"
    CHECKPOINT = 13, "a checkpoint is malformed or not signed by the ledger key"
    ROLLBACK = 14, "the ledger was rolled back or forked since this verifier last trusted it"
    LEDGER_CORRUPT = 15, "the ledger does not recompute; the message names the first bad entry"
    VERSION_EXISTS = 16, "other bytes under an artifact id that has a version: needs --new-version"
    AMBIGUOUS_ARTIFACT = 17, "the same bytes were published under several ids: name one"
    TREE_REFUSED = 18, "a folder holds what a tree cannot record (symlink, special file, odd name...)"
    HOME_NOT_FOUND = 19, "no receiptcore home (.receiptcore/) here or above, nor $RECEIPTCORE_HOME"
    LEDGER_UNAVAILABLE = 20, "the ledger (database or serve endpoint) is unreachable, after retries"
    STORE_UNAVAILABLE = 21, "the object store is unreachable or failed mid-transfer, after retries"
    KEY_REVOKED = 25, "signed by a key the trust file revoked, logged at or after the revocation"
    NOT_REGULAR_FILE = 26, "a path is a FIFO, device, socket or symlink where a regular file is read"
    TRUST_NOT_ANCHORED = 27, "trust would rest on what the ledger folder says (refused by --strict)"
    LIMIT_EXCEEDED = 28, "an input is past a documented bound (size, signatures, proof length)"
    PAYLOAD_REFUSED = 30, "a tool request carries a payload (text blob, vector, path, URL), not a reference"
    REQUEST_TOO_LARGE = 31, "a tool request, or a value in it, is over its size cap"
    TOOL_UNAVAILABLE = 32, "the tool cannot serve this here (no rag engine, not an index it can search)"
    TOOL_SERVER = 33, "the tool server could not be reached, failed, or answered outside the contract"
    UNAUTHORIZED = 34, "the tool server refused the caller (bearer token, Origin or Host)"
    REFERENCE_CONFLICT = 35, "a path holds other bytes than its reference file names: nothing is overwritten"
    REFERENCE_MISMATCH = 36, "a reference file names a version, kind or size its artifact does not have"
    CORPUS = 40, "a corpus cannot be embedded: empty, or a file that is not UTF-8 text"
    DIMENSION_MISMATCH = 41, "vectors and the model that embeds queries differ in dimension"
    INTERRUPTED = 130, "interrupted (Ctrl-C)"
    BROKEN_PIPE = 141, "the reader of stdout went away (`... | head`): nothing is printed"


# --- the native classes: made in Rust, described here --------------------------------------

ReceiptcoreError.exit_code = ExitCode.FAILED
ReceiptcoreError.check = None
FileChangedError.exit_code = ExitCode.FILE_CHANGED
FileChangedError.check = "digest"
CanonicalizationError.exit_code = ExitCode.INVALID_DOCUMENT
GitError.exit_code = ExitCode.USAGE


class SchemaError(ReceiptcoreError, ValueError):
    """A document is not valid JSON, or does not match its contract (unknown field, wrong type,
    missing field, bad value). The message names the document and the field."""

    exit_code = ExitCode.INVALID_DOCUMENT
    check: Check | None = "signature"


class SignatureInvalid(ReceiptcoreError):
    """A DSSE envelope's signature does not verify over its payload (or is malformed)."""

    exit_code = ExitCode.BAD_SIGNATURE
    check: Check | None = "signature"


class UntrustedKey(ReceiptcoreError):
    """An envelope is signed by a key that the trust file does not list."""

    exit_code = ExitCode.UNTRUSTED_KEY
    check: Check | None = "trust"


class SigningKeyError(ReceiptcoreError):
    """A signing key is missing, unreadable, not Ed25519, or would overwrite an existing file."""

    exit_code = ExitCode.SIGNING_KEY


class DigestMismatch(ReceiptcoreError):
    """Bytes do not hash to the commitment that was claimed for them."""

    exit_code = ExitCode.DIGEST_MISMATCH
    check: Check | None = "digest"


class ConfigError(ReceiptcoreError, ValueError):
    """A scan configuration, baseline or option the user wrote is wrong."""

    exit_code = ExitCode.USAGE


class TrustFileError(ReceiptcoreError):
    """The trust file is missing, malformed, or lists a key under the wrong key id."""

    exit_code = ExitCode.USAGE
    check: Check | None = "trust"


class ObjectNotFound(ReceiptcoreError):
    """The artifact store holds no object under this commitment."""

    exit_code = ExitCode.OBJECT_NOT_FOUND
    check: Check | None = "digest"


class NotInLedger(ReceiptcoreError):
    """No receipt for this artifact in the ledger.

    When the ledger itself holds nothing (no file, an empty file, no entry yet), ``location``
    names it and ``found`` says what is there: a verifier that trusted a checkpoint of that
    ledger calls this a rollback (RollbackDetected) instead."""

    exit_code = ExitCode.NOT_IN_LEDGER
    check: Check | None = "inclusion"

    def __init__(self, message: str, *, location: str | None = None, found: str = "") -> None:
        super().__init__(message)
        self.location = location
        self.found = found


class ProofError(ReceiptcoreError):
    """A Merkle inclusion or consistency proof does not verify."""

    exit_code = ExitCode.PROOF
    check: Check | None = "inclusion"


class CheckpointError(ReceiptcoreError):
    """A checkpoint is malformed, or not signed by the ledger key the verifier trusts."""

    exit_code = ExitCode.CHECKPOINT
    check: Check | None = "inclusion"


class RollbackDetected(ReceiptcoreError):
    """The ledger is smaller than, or forked from, the last checkpoint this verifier trusted."""

    exit_code = ExitCode.ROLLBACK
    check: Check | None = "consistency"


class LedgerCorrupt(ReceiptcoreError):
    """The stored ledger does not recompute: ``index`` names the first entry that does not match."""

    exit_code = ExitCode.LEDGER_CORRUPT
    check: Check | None = "inclusion"

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


class LedgerUnavailable(ReceiptcoreError):
    """The ledger's database or ``serve`` endpoint could not be reached, or went away in the
    middle of an operation, and retrying did not help. Nothing half-written is left: an append
    is one transaction, and retrying it later is safe (it is idempotent)."""

    exit_code = ExitCode.LEDGER_UNAVAILABLE


class StoreUnavailable(ReceiptcoreError):
    """The object store could not be reached, or failed in the middle of a transfer, and
    retrying did not help. Nothing half-written is visible: an object appears under its commit
    only once it is complete, so publishing again is safe."""

    exit_code = ExitCode.STORE_UNAVAILABLE


class ReferenceConflict(ReceiptcoreError):
    """A path and its reference file disagree: ``externalize`` found the asset beside a
    reference to other bytes, or ``pull`` found other bytes where the reference's artifact
    goes. Neither overwrites anything: the message names both and how to resolve it."""

    exit_code = ExitCode.REFERENCE_CONFLICT


class ReferenceMismatch(ReceiptcoreError):
    """A reference file names what its artifact's receipts do not: a commit that is no version
    of its id in the ledger (a reference edited by hand), or another kind or size than the
    verified receipt's. The message names the field and both values."""

    exit_code = ExitCode.REFERENCE_MISMATCH


class TreeMismatch(DigestMismatch):
    """A folder, or the stored objects of a tree, differ from the tree's file list. ``missing``,
    ``extra`` and ``changed`` name every file that differs (relative paths), not only the first."""

    def __init__(
        self,
        message: str,
        missing: list[str] | None = None,
        extra: list[str] | None = None,
        changed: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.missing, self.extra, self.changed = missing or [], extra or [], changed or []


class VersionExists(ReceiptcoreError):
    """Other bytes were published under an artifact id that already has a version, without
    ``--new-version``; or a commit that is an older version of the id was published again. The
    message names the existing commit and its ledger entry."""

    exit_code = ExitCode.VERSION_EXISTS


class AmbiguousArtifact(ReceiptcoreError):
    """The same bytes were published under several artifact ids, and none was named: the
    message lists them (``--artifact-id`` picks one). ``verify FILE`` never guesses."""

    exit_code = ExitCode.AMBIGUOUS_ARTIFACT
    check: Check | None = "trust"


class TreeRefused(ReceiptcoreError):
    """A folder holds something a tree artifact cannot record: a symlink, a device, pipe or
    socket, a name that is not UTF-8 or holds a control character, an empty folder, or an
    unreadable entry. The message names every such path."""

    exit_code = ExitCode.TREE_REFUSED


class HomeNotFound(ReceiptcoreError):
    """No receiptcore home: ``$RECEIPTCORE_HOME`` is unset and there is no ``.receiptcore/``
    in the current folder or any folder above it. The message lists where it looked."""

    exit_code = ExitCode.HOME_NOT_FOUND


class ArtifactIdError(ReceiptcoreError, ValueError):
    """An artifact id is not valid, or none can be derived from a file or folder name: the
    message shows the characters an id may hold and says to pass ``--artifact-id``."""

    exit_code = ExitCode.USAGE


class NothingToRead(ReceiptcoreError, ValueError):
    """A directory given to hash, or as a corpus, holds no regular file: an empty answer would
    pass for a successful one."""

    exit_code = ExitCode.USAGE


class KeyRevoked(ReceiptcoreError):
    """The receipt was signed by a key the trust file revoked, and the ledger logged it at or
    after the revocation's time (or cannot say when it logged it). The message names the
    revocation."""

    exit_code = ExitCode.KEY_REVOKED
    check: Check | None = "trust"


class NotRegularFile(ReceiptcoreError, OSError):
    """A path names a FIFO, a device, a socket, or (unless a flag allows it) a symbolic link
    where receiptcore reads a regular file: reading it could hang, never end, or read another
    file than the one named."""

    exit_code = ExitCode.NOT_REGULAR_FILE


class TrustNotAnchored(ReceiptcoreError):
    """What the verifier would trust comes from where the verified party can write: a trust
    file inside the ledger folder, or a ledger key taken on first use. Allowed (with a warning)
    for the embedded default; refused by ``--strict`` and for a trust file named explicitly."""

    exit_code = ExitCode.TRUST_NOT_ANCHORED
    check: Check | None = "trust"


class LimitExceeded(ReceiptcoreError, ValueError):
    """An input is past a documented bound: a JSON document over its size cap, an envelope with
    too many signatures, a proof longer than any tree is deep, an oversized note. Refused before
    the work it would cost is done."""

    exit_code = ExitCode.LIMIT_EXCEEDED

    def __init__(self, message: str, check: Check | None = None) -> None:
        super().__init__(message)
        self.check = check


class PayloadRefused(ReceiptcoreError, ValueError):
    """A tool request carries content where the contract takes a reference: a raw text blob, a
    vector, a file path or a URL (in an unknown field, or in place of an id). The message names
    the field."""

    exit_code = ExitCode.PAYLOAD_REFUSED


class RequestTooLarge(ReceiptcoreError, ValueError):
    """A tool request, or one value in it, is over its cap (the message names the field and the
    cap): requests are small by design, and a server never reads more than it must."""

    exit_code = ExitCode.REQUEST_TOO_LARGE


class ToolUnavailable(ReceiptcoreError):
    """The tool cannot serve this request where it runs: the rag engine (``pipelines``) is not
    installed, or the artifact is not an index it can search (unknown index id)."""

    exit_code = ExitCode.TOOL_UNAVAILABLE


class ToolServerError(ReceiptcoreError):
    """The tool server could not be started or reached, stopped, or answered something the
    contract does not allow: the client has nothing it can trust."""

    exit_code = ExitCode.TOOL_SERVER


class Unauthorized(ReceiptcoreError):
    """The tool server refused the caller: no or wrong bearer token, or an Origin or Host header
    it does not serve (DNS-rebinding protection)."""

    exit_code = ExitCode.UNAUTHORIZED


class CorpusError(ReceiptcoreError, ValueError):
    """A corpus cannot be embedded: it holds nothing to embed, or a file of a text kind that is
    binary or not valid UTF-8 (the message names the file and the byte)."""

    exit_code = ExitCode.CORPUS


class DimensionMismatch(ReceiptcoreError, ValueError):
    """Embeddings, an index or a model disagree on the dimension of their vectors."""

    exit_code = ExitCode.DIMENSION_MISMATCH


# What is not ours, by kind; the first match wins (a BrokenPipeError is an OSError).
_FOREIGN: tuple[tuple[type[BaseException], ExitCode], ...] = (
    (KeyboardInterrupt, ExitCode.INTERRUPTED),
    (BrokenPipeError, ExitCode.BROKEN_PIPE),
    (OSError, ExitCode.IO),
    (ValueError, ExitCode.USAGE),
)


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code of any exception: its class's ``exit_code``, else by kind, else FAILED."""
    code = getattr(type(error), "exit_code", None)
    if code is not None:
        return ExitCode(code)
    for kind, foreign in _FOREIGN:
        if isinstance(error, kind):
            return foreign
    return ExitCode.FAILED


def check_for(error: BaseException | type[BaseException]) -> Check | None:
    """The verdict check an error (or error class) fails; None: not a verification failure."""
    return getattr(error, "check", None)


def error_classes() -> list[type[ReceiptcoreError]]:
    """Every receiptcore exception class, the native ones included, base class first."""
    found, todo = [], [ReceiptcoreError]
    while todo:
        cls = todo.pop(0)
        found.append(cls)
        todo.extend(sorted(cls.__subclasses__(), key=lambda c: c.__name__))
    return found


def error_class(name: str) -> type[ReceiptcoreError] | None:
    """The catalogue's class called ``name`` (the ``reason`` of a tool error), or None."""
    return next((cls for cls in error_classes() if cls.__name__ == name), None)


def list_all_errors() -> list[dict[str, object]]:
    """The catalogue as data: one row per class (name, exit code and its name, check, doc)."""
    return [
        {
            "name": cls.__name__,
            "exit_code": int(cls.exit_code),
            "exit_name": ExitCode(cls.exit_code).name.lower(),
            "check": check_for(cls),
            "doc": (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " "),
        }
        for cls in error_classes()
    ]


def exit_code_table(markdown: bool = False) -> str:
    """The exit codes with their meanings and the errors that carry them: the table that
    ``receiptcore --help`` prints and the README shows (a test holds them equal)."""
    carriers: dict[int, list[str]] = {}
    for cls in error_classes():
        carriers.setdefault(int(cls.exit_code), []).append(cls.__name__)
    rows = []
    for code in ExitCode:
        names = ", ".join(n for n in carriers.get(code, []) if n != "ReceiptcoreError")
        rows.append((str(int(code)), code.meaning + (f" ({names})" if names else "")))
    if markdown:
        lines = ["| code | meaning |", "|---:|---|"]
        escaped = [(c, m.replace("|", "\\|")) for c, m in rows]  # a pipe would end the cell
        lines += [f"| {c} | {m} |" for c, m in escaped]
        return "\n".join(lines) + "\n"
    return "".join(f"  {c:>3}  {m}\n" for c, m in rows)


__all__ = [
    "AmbiguousArtifact",
    "ArtifactIdError",
    "CanonicalizationError",
    "CheckpointError",
    "ConfigError",
    "CorpusError",
    "DigestMismatch",
    "DimensionMismatch",
    "ExitCode",
    "FileChangedError",
    "GitError",
    "HomeNotFound",
    "KeyRevoked",
    "LedgerCorrupt",
    "LedgerUnavailable",
    "LimitExceeded",
    "NotInLedger",
    "NotRegularFile",
    "NothingToRead",
    "ObjectNotFound",
    "PayloadRefused",
    "ProofError",
    "ReceiptcoreError",
    "ReferenceConflict",
    "ReferenceMismatch",
    "RequestTooLarge",
    "RollbackDetected",
    "SchemaError",
    "SignatureInvalid",
    "SigningKeyError",
    "StoreUnavailable",
    "ToolServerError",
    "ToolUnavailable",
    "TreeMismatch",
    "TreeRefused",
    "TrustFileError",
    "TrustNotAnchored",
    "Unauthorized",
    "UntrustedKey",
    "VersionExists",
    "check_for",
    "error_class",
    "error_classes",
    "exit_code_for",
    "exit_code_table",
    "list_all_errors",
]

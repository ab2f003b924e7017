"""What every contract shares: a strict base model, the common string types, and one way to
read a document that turns every failure into a one-line :class:`SchemaError` naming the field.

The pydantic models are the single source of truth; ``scripts/gen_schemas.py`` writes the JSON
Schema files from them and a test fails when the committed files drift.
"""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from receiptcore._core import CanonicalizationError, canonicalize_json
from receiptcore.errors import SchemaError
from receiptcore.ids import ID_MAX_LENGTH, ID_PATTERN

SCHEMA_BASE = "https://receiptcore.dev/schemas/v1/"
"""Every ``$id`` starts here; the ``v1`` is the contracts' major version."""

SCHEMA_VERSION = 1
"""The major version carried in each top-level document's ``schema_version`` field."""


def _version(number: int):
    """A check that runs before ``Literal[number]``: Python's ``True == 1`` and ``1.0 == 1``, so
    the Literal alone would take JSON ``true`` or ``1.0`` for the integer."""

    def check(value: Any) -> Any:
        if isinstance(value, bool) or (isinstance(value, float) and value.is_integer()):
            raise ValueError(
                f"Input should be {number}, an integer written as one, not {json.dumps(value)}"
            )
        return value

    return BeforeValidator(check)


SchemaVersion = Annotated[Literal[1], _version(1)]
"""``schema_version``: the integer 1 (not ``true``, not ``1.0``)."""

SchemaVersion2 = Annotated[Literal[2], _version(2)]
"""``schema_version`` of a version-2 contract: the integer 2."""

Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
"""A sha256 digest as 64 lowercase hex characters, without an ``sha256:`` prefix."""

Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=ID_MAX_LENGTH)]
"""An artifact or index id: starts with a letter or digit, then letters, digits and ``._:/@+-``
(the pattern lives in :mod:`receiptcore.ids`)."""

_SEGMENT = r"(?:[^/\\.][^/\\]*|\.[^/\\.][^/\\]*|\.\.[^/\\]+)"
RelativePosixPath = Annotated[
    str, StringConstraints(pattern=rf"^{_SEGMENT}(?:/{_SEGMENT})*$", max_length=4096)
]
"""A relative POSIX path: ``/``-separated, no leading ``/``, no empty, ``.`` or ``..`` segment,
no backslash. The same bytes on every host, so it can be committed."""

MAX_SAFE_INTEGER = 2**53 - 1
"""Integers beyond this have no exact IEEE double, so RFC 8785 (and I-JSON) cannot carry them."""

SafeInt = Annotated[int, Field(ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER)]
Count = Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER)]

NonEmptyText = Annotated[str, StringConstraints(min_length=1, max_length=4096)]

URI_SCHEMES = ("file", "s3", "gs", "az", "http", "https", "git", "ssh", "hf")
"""The schemes a URI in a contract may have: where bytes can be fetched from."""


def check_uri(text: str) -> str:
    """``text`` if it is an absolute URI with a scheme of :data:`URI_SCHEMES` (a host, or for
    ``file:`` an absolute path), without spaces or control characters; else a ValueError."""
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if not scheme or ":" not in text:
        raise ValueError(f"not a URI (no scheme such as s3:// or file://): {text!r}")
    if scheme not in URI_SCHEMES:
        raise ValueError(f"unknown URI scheme {scheme!r} (known: {', '.join(URI_SCHEMES)})")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ValueError(f"a URI has no spaces or control characters: {text!r}")
    if scheme == "file" and not parts.path.startswith("/"):
        raise ValueError(f"a file: URI names an absolute path: {text!r}")
    if scheme != "file" and not parts.netloc:
        raise ValueError(f"a {scheme}: URI names a host or bucket after '//': {text!r}")
    return text


Uri = Annotated[str, StringConstraints(min_length=1, max_length=4096), AfterValidator(check_uri)]
"""A URI with a known scheme (:func:`check_uri`)."""


def check_sorted_unique_paths(files: list) -> list:
    """The validator of a file list: sorted by ``path`` (Unicode code points, which is the
    order of their UTF-8 bytes), each path once, so that one content has one commit."""
    for before, after in pairwise(files):
        if before.path >= after.path:
            raise ValueError(
                f"paths must be sorted and unique: {after.path!r} comes after {before.path!r}"
            )
    return files


class StrictModel(BaseModel):
    """Unknown fields, wrong types (no coercion: ``"1"`` is not an integer) and missing fields
    are all errors. Models are immutable once read."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    def to_json_obj(self) -> dict[str, Any]:
        """The document as plain JSON values, with the field names of the contract."""
        return self.model_dump(mode="json", by_alias=True)

    def to_json_bytes(self, indent: int | None = 2) -> bytes:
        """Readable JSON (UTF-8, keys sorted, trailing newline). Commitments never hash these
        bytes: they hash the RFC 8785 form of :meth:`to_json_obj`."""
        separators = (",", ":") if indent is None else (",", ": ")
        text = json.dumps(
            self.to_json_obj(), indent=indent, separators=separators, sort_keys=True,
            ensure_ascii=False,
        )
        return (text + "\n").encode("utf-8")


M = TypeVar("M", bound=BaseModel)


def parse_json_bytes(data: bytes | str, source: str = "document") -> Any:
    """JSON text to Python values, refusing what JSON parsers disagree on.

    The native strict parser (:func:`receiptcore.canonicalize_json`) is the gate: duplicate
    keys (which one wins?), ``NaN``/``Infinity``, numbers beyond a double, lone surrogates,
    invalid UTF-8, a byte order mark and anything RFC 8259 does not allow are refused with the
    byte offset and JSON pointer of the fault. Only then does :func:`json.loads` build values
    (exact integers, which the contracts' own bounds then check).
    """
    try:
        canonicalize_json(data)
    except CanonicalizationError as error:
        message = str(error)
        if message.startswith("invalid JSON "):  # "invalid JSON at byte N: ..."
            message = " " + message.removeprefix("invalid JSON ")
        else:
            message = ": " + message
        raise SchemaError(f"{source}: not valid JSON{message}") from None
    return json.loads(data)


def validate(model: type[M], data: Any, source: str = "document") -> M:
    """Python values to a model; a failure is a :class:`SchemaError` whose message names the
    document, the field path of the first problem, and how many more there are."""
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as error:
        raise SchemaError(describe_validation_error(error, source)) from None


def load(model: type[M], data: bytes | str, source: str = "document") -> M:
    """JSON text to a model: :func:`parse_json_bytes` then :func:`validate`."""
    return validate(model, parse_json_bytes(data, source), source)


def describe_validation_error(error: ValidationError, source: str) -> str:
    problems = error.errors(include_url=False)
    first = problems[0]
    where = field_path(first["loc"]) or "(top level)"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown field (not in the contract)"
    elif first["type"] == "missing":
        message = "required field is missing"
    elif first["type"] == "value_error":
        message = message.removeprefix("Value error, ")
    more = f" (and {len(problems) - 1} more problem{'s' * (len(problems) > 2)})" if len(problems) > 1 else ""
    return f"{source}: {where}: {message}{more}"


def field_path(loc: tuple[int | str, ...]) -> str:
    """``('files', 3, 'size')`` -> ``files[3].size``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out

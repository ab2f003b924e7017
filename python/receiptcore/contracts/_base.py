"""What every contract shares: a strict base model, the common string types, and one way to
read a document that turns every failure into a one-line :class:`SchemaError` naming the field.

The pydantic models are the single source of truth; ``scripts/gen_schemas.py`` writes the JSON
Schema files from them and a test fails when the committed files drift.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from receiptcore.errors import SchemaError

SCHEMA_BASE = "https://receiptcore.dev/schemas/v1/"
"""Every ``$id`` starts here; the ``v1`` is the contracts' major version."""

SCHEMA_VERSION = 1
"""The major version carried in each top-level document's ``schema_version`` field."""


def _not_a_bool(value: Any) -> Any:
    # Python's True == 1, so Literal[1] alone would accept JSON `true` as version 1.
    if isinstance(value, bool):
        raise ValueError("Input should be 1, not a boolean")  # noqa: TRY004 (pydantic wants ValueError)
    return value


SchemaVersion = Annotated[Literal[1], BeforeValidator(_not_a_bool)]
"""``schema_version``: the integer 1 (not ``true``, not ``1.0``)."""

Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
"""A sha256 digest as 64 lowercase hex characters, without an ``sha256:`` prefix."""

Identifier = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$", max_length=255)
]
"""An artifact or index id: starts with a letter or digit, then letters, digits and ``._:/@+-``."""

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
    """JSON text to Python values, refusing what JSON parsers disagree on: duplicate keys
    (which one wins?), and ``NaN``/``Infinity`` (not JSON at all)."""
    try:
        return json.loads(
            data,
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_no_constant,
            parse_float=_finite_float,
        )
    except json.JSONDecodeError as error:
        raise SchemaError(
            f"{source}: not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except UnicodeDecodeError as error:
        raise SchemaError(f"{source}: not valid JSON: not UTF-8 ({error.reason})") from None
    except _JsonRefused as error:
        raise SchemaError(f"{source}: not valid JSON: {error}") from None


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


class _JsonRefused(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _JsonRefused(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name: str) -> float:
    raise _JsonRefused(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _JsonRefused(f"{text} is beyond the range of a double")
    return value


"""A tool request is read strictly, before anything runs: it names artifacts by reference, so
whatever looks like content is refused, with the field named.

In order: the whole request's size (:class:`RequestTooLarge`), then every field the contract does
not know, refused as a payload when it carries one (a text blob, a vector, a path, a URL:
:class:`PayloadRefused`) and as an unknown field otherwise (:class:`SchemaError`); then ids that
are really URLs or paths (:class:`PayloadRefused`); then the contract itself, where a value over
its bound is :class:`RequestTooLarge` and anything else :class:`SchemaError`.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from receiptcore.contracts._base import describe_validation_error, field_path
from receiptcore.errors import PayloadRefused, RequestTooLarge, SchemaError

MAX_REQUEST_BYTES = 64 << 10
"""The most a request may weigh as JSON: a query of 8,192 characters fits four times over."""

MAX_TEXT = 256
"""An unknown string longer than this is a text blob, whatever it says."""

MIN_VECTOR = 8
"""An unknown list of at least this many numbers is a vector."""

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_PATH = re.compile(r"^(?:/|~|\.{1,2}/|[A-Za-z]:[\\/])|(?:^|/)\.{1,2}(?:/|$)|\\")
_TOO_LARGE = {"string_too_long", "too_long", "less_than_equal", "bytes_too_long"}

M = TypeVar("M", bound=BaseModel)


def read_request(model: type[M], arguments: Any, source: str) -> M:
    """``arguments`` (the JSON object a client sent) as ``model``, or the error naming the field."""
    size = len(json.dumps(arguments, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_REQUEST_BYTES:
        raise RequestTooLarge(
            f"{source}: the request is {size} bytes, over the cap of {MAX_REQUEST_BYTES}: "
            "name artifacts by reference instead of sending content"
        )
    if not isinstance(arguments, dict):
        raise SchemaError(f"{source}: (top level): the arguments must be a JSON object")
    _refuse_payloads(model, arguments, (), source)
    try:
        return model.model_validate(arguments, strict=True)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        message = describe_validation_error(error, source)
        if first["type"] in _TOO_LARGE:
            raise RequestTooLarge(message) from None
        raise SchemaError(message) from None


def payload_kind(value: Any) -> str | None:
    """What content ``value`` is (``"a URL"``, ``"a vector of 384 numbers"``...), or None."""
    if isinstance(value, str):
        if _URL.match(value):
            return "a URL"
        if _PATH.search(value):
            return "a file path"
        if len(value) > MAX_TEXT:
            return f"a text blob of {len(value)} characters"
    elif isinstance(value, list):
        if len(value) >= MIN_VECTOR and all(_is_number(v) for v in value):
            return f"a vector of {len(value)} numbers"
        for item in value:
            if kind := payload_kind(item):
                return kind
    elif isinstance(value, dict):
        for item in value.values():
            if kind := payload_kind(item):
                return kind
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _refuse_payloads(model: type[BaseModel], data: dict, at: tuple, source: str) -> None:
    fields = {info.alias or name: info for name, info in model.model_fields.items()}
    for key, value in data.items():
        where = field_path((*at, key))
        info = fields.get(key)
        if info is None:
            kind = payload_kind(value)
            if kind is not None:
                raise PayloadRefused(
                    f"{source}: {where}: unknown field carrying {kind}: requests name artifacts "
                    "by reference ({artifact_id, commit}), never by content"
                )
            continue  # the contract refuses it below, as an unknown field
        if key.endswith("_id") and isinstance(value, str):
            kind = "a URL" if _URL.match(value) else "a file path" if _PATH.search(value) else None
            if kind is not None:
                raise PayloadRefused(f"{source}: {where}: {kind} where an id is expected")
        nested = _model_of(info.annotation)
        if nested is not None and isinstance(value, dict):
            _refuse_payloads(nested, value, (*at, key), source)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (``Model`` or ``Model | None``), if any."""
    candidates = getattr(annotation, "__args__", None) or (annotation,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None

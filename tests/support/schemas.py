"""The committed schema files, validators for them, and one valid example per contract."""

from __future__ import annotations

import json

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from receiptcore.contracts.schemas import ALL_TOOLS as TOOL_MODELS
from receiptcore.contracts.schemas import DOCUMENTS as MODELS
from receiptcore.contracts.schemas import ERROR_MODEL, generate
from support.contract_examples import DOCUMENTS, TOOLS, TOOLS_V2
from support.paths import REPO

SCHEMAS = REPO / "schemas"
ALL_FILES = sorted(generate())


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def validator(name: str, part: str | None = None) -> Draft202012Validator:
    """A validator for a schema file, or for its ``$defs/request`` / ``$defs/response``."""
    root = schema(name)
    if part is None:
        return Draft202012Validator(root)
    registry = Registry().with_resource(root["$id"], Resource.from_contents(root))
    return Draft202012Validator({"$ref": f"{root['$id']}#/$defs/{part}"}, registry=registry)


def cases():
    """(schema file, part, model, valid example) for every contract and tool message."""
    for name, example in DOCUMENTS.items():
        yield name, None, MODELS[name], example
    for name, (request, response) in TOOLS.items():
        request_model, response_model, _ = TOOL_MODELS[name]
        yield name, "request", request_model, request
        yield name, "response", response_model, response
    for name, (request, response, error) in TOOLS_V2.items():
        request_model, response_model, _ = TOOL_MODELS[name]
        yield name, "request", request_model, request
        yield name, "response", response_model, response
        yield name, "error", ERROR_MODEL, error


CASES = list(cases())

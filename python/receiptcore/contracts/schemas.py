"""The JSON Schema files, generated from the models (the single source of truth).

``scripts/gen_schemas.py`` writes :func:`generate` to ``schemas/``; ``tests/test_contracts.py``
fails when the committed files differ from it.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from receiptcore.contracts import manifests, receipt, tools
from receiptcore.contracts._base import SCHEMA_BASE

DRAFT = "https://json-schema.org/draft/2020-12/schema"

DOCUMENTS: dict[str, type[BaseModel]] = {
    "build_manifest.schema.json": manifests.BuildManifest,
    "dataset_manifest.schema.json": manifests.DatasetManifest,
    "artifact_receipt.schema.json": receipt.Statement,
    "dsse_envelope.schema.json": receipt.Envelope,
    "trust.schema.json": receipt.TrustFile,
}
"""Schema file name -> the model of a whole document."""

TOOLS: dict[str, tuple[type[BaseModel], type[BaseModel], str]] = {
    "tool/rag.query.schema.json": (
        tools.RagQueryRequest,
        tools.RagQueryResponse,
        "rag.query: passages from a verified index, by reference to the index.",
    ),
    "tool/artifact.fetch.schema.json": (
        tools.ArtifactFetchRequest,
        tools.ArtifactFetchResponse,
        "artifact.fetch: the location of an artifact's bytes, verified against its commit.",
    ),
    "tool/receipt.verify.schema.json": (
        tools.ReceiptVerifyRequest,
        tools.ReceiptVerifyResponse,
        "receipt.verify: the verdict on an artifact's receipt, ledger entry and bytes.",
    ),
}
"""Schema file name -> (request model, response model, description). Each tool schema holds
both under ``$defs/request`` and ``$defs/response``; the root accepts either."""


def schema_id(filename: str) -> str:
    return SCHEMA_BASE + filename


def document_schema(filename: str) -> dict[str, Any]:
    model = DOCUMENTS[filename]
    body = model.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": DRAFT, "$id": schema_id(filename), **body}


def tool_schema(filename: str) -> dict[str, Any]:
    request, response, description = TOOLS[filename]
    (_, defs) = models_json_schema(
        [(request, "validation"), (response, "validation")],
        by_alias=True,
        ref_template="#/$defs/{model}",
    )
    all_defs = dict(defs.get("$defs", {}))
    all_defs["request"] = {"$ref": f"#/$defs/{request.__name__}"}
    all_defs["response"] = {"$ref": f"#/$defs/{response.__name__}"}
    return {
        "$schema": DRAFT,
        "$id": schema_id(filename),
        "title": filename.removeprefix("tool/").removesuffix(".schema.json"),
        "description": description,
        "oneOf": [{"$ref": "#/$defs/request"}, {"$ref": "#/$defs/response"}],
        "$defs": dict(sorted(all_defs.items())),
    }


def generate() -> dict[str, str]:
    """Schema file path (relative to ``schemas/``) -> its exact text."""
    out = {}
    for filename in DOCUMENTS:
        out[filename] = _text(document_schema(filename))
    for filename in TOOLS:
        out[filename] = _text(tool_schema(filename))
    return out


def _text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"

"""The JSON Schema files, generated from the models (the single source of truth).

``scripts/gen_schemas.py`` writes :func:`generate` to ``schemas/``; ``tests/test_contracts.py``
fails when the committed files differ from it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from receiptcore.contracts import manifests, receipt, reference, tools, tools_v2, tree
from receiptcore.contracts._base import SCHEMA_BASE

DRAFT = "https://json-schema.org/draft/2020-12/schema"

DOCUMENTS: dict[str, type[BaseModel]] = {
    "build_manifest.schema.json": manifests.BuildManifest,
    "dataset_manifest.schema.json": manifests.DatasetManifest,
    "tree_manifest.schema.json": tree.TreeManifest,
    "artifact_receipt.schema.json": receipt.Statement,
    "dsse_envelope.schema.json": receipt.Envelope,
    "trust.schema.json": receipt.TrustFile,
    "v2/trust.schema.json": receipt.TrustFileV2,
    "artifact_reference.schema.json": reference.ArtifactReference,
}
"""Schema file name -> the model of a whole document. A contract's later major versions live
beside the first, under ``v<N>/`` (version 1 files stay where they were)."""

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

TOOLS_V2: dict[str, tuple[type[BaseModel], type[BaseModel], str]] = {
    "v2/tool/rag.query.schema.json": (
        tools_v2.RagQueryRequest,
        tools_v2.RagQueryResponse,
        "rag.query: passages from a verified index, with their provenance.",
    ),
    "v2/tool/artifact.fetch.schema.json": (
        tools_v2.ArtifactFetchRequest,
        tools_v2.ArtifactFetchResponse,
        "artifact.fetch: where to read an artifact's verified bytes, or a bounded chunk of them.",
    ),
    "v2/tool/receipt.verify.schema.json": (
        tools_v2.ReceiptVerifyRequest,
        tools_v2.ReceiptVerifyResponse,
        "receipt.verify: the verdict on an artifact's receipt, with the proofs to check it.",
    ),
}
"""Version 2 of the tools (what ``receiptcore mcp`` serves): besides the request and the
response, each schema holds ``$defs/error``, the body of an error result."""

TOOL_SCHEMAS = {
    "rag.query": "v2/tool/rag.query.schema.json",
    "artifact.fetch": "v2/tool/artifact.fetch.schema.json",
    "receipt.verify": "v2/tool/receipt.verify.schema.json",
}
"""Tool name -> the contract ``receiptcore mcp`` serves it by (under ``schemas/``)."""

ERROR_MODEL = tools_v2.ToolErrorResult
ALL_TOOLS = {**TOOLS, **TOOLS_V2}
"""Every tool schema file, v1 and v2, -> (request model, response model, description)."""


def schema_id(filename: str) -> str:
    """``https://receiptcore.dev/schemas/v<N>/<name>``: ``v1/`` unless the file is under ``v<N>/``."""
    if re.match(r"v[0-9]+/", filename):
        return SCHEMA_BASE.removesuffix("v1/") + filename
    return SCHEMA_BASE + filename


def document_schema(filename: str) -> dict[str, Any]:
    model = DOCUMENTS[filename]
    body = model.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": DRAFT, "$id": schema_id(filename), **body}


def tool_schema(filename: str) -> dict[str, Any]:
    request, response, description = ALL_TOOLS[filename]
    parts = {"request": request, "response": response}
    if filename in TOOLS_V2:
        parts["error"] = ERROR_MODEL
    (_, defs) = models_json_schema(
        [(model, "validation") for model in parts.values()],
        by_alias=True,
        ref_template="#/$defs/{model}",
    )
    all_defs = dict(defs.get("$defs", {}))
    for part, model in parts.items():
        all_defs[part] = {"$ref": f"#/$defs/{model.__name__}"}
    return {
        "$schema": DRAFT,
        "$id": schema_id(filename),
        "title": filename.rpartition("tool/")[2].removesuffix(".schema.json"),
        "description": description,
        "oneOf": [{"$ref": f"#/$defs/{part}"} for part in parts],
        "$defs": dict(sorted(all_defs.items())),
    }


def part_schema(filename: str, part: str) -> dict[str, Any]:
    """One part (``request``, ``response``, ``error``) of a tool schema as a schema of its own,
    for MCP's ``inputSchema`` / ``outputSchema``: the part's object at the root (MCP wants
    ``type: object`` there) with the file's ``$defs``, so every ``$ref`` resolves inside it."""
    whole = tool_schema(filename)
    defs = whole["$defs"]
    name = defs[part]["$ref"].removeprefix("#/$defs/")
    return {"$schema": DRAFT, **defs[name], "$defs": defs}


def generate() -> dict[str, str]:
    """Schema file path (relative to ``schemas/``) -> its exact text."""
    out = {}
    for filename in DOCUMENTS:
        out[filename] = _text(document_schema(filename))
    for filename in ALL_TOOLS:
        out[filename] = _text(tool_schema(filename))
    return out


def _text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"

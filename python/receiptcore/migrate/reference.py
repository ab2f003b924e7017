"""Reference files: where one lives for a path, how it is written, and how it is read back.

A reference file is the contract :class:`~receiptcore.contracts.ArtifactReference`, written as
its RFC 8785 form plus one newline (git wants a file to end in one), so the same reference is
always the same bytes and a pull request shows a one-line diff when a version changes. It sits
beside the path it stands for, named after it: ``models/encoder.artifact.json`` for the folder
``models/encoder/``, ``index.faiss.artifact.json`` for the file ``index.faiss``. The name is the
one place that says which path a reference restores.
"""

from __future__ import annotations

import os
from pathlib import Path

from receiptcore._core import canonicalize
from receiptcore.errors import SchemaError
from receiptcore.util.atomic import fsync_dir, replace_file

SUFFIX = ".artifact.json"


def reference_path(asset: str | os.PathLike[str]) -> Path:
    """The reference file of ``asset`` (a file or a folder): beside it, named after it."""
    asset = Path(os.path.normpath(asset))
    return asset.with_name(asset.name + SUFFIX)


def asset_path(reference: str | os.PathLike[str]) -> Path:
    """The path a reference file stands for (ValueError if the name is not ``*.artifact.json``)."""
    reference = Path(reference)
    if not reference.name.endswith(SUFFIX) or reference.name == SUFFIX:
        raise ValueError(f"{os.fspath(reference)} is not a reference file (*{SUFFIX})")
    return reference.with_name(reference.name[: -len(SUFFIX)])


def reference_bytes(reference) -> bytes:
    """The exact bytes of a reference file: RFC 8785 form, one newline."""
    return canonicalize(reference.to_json_obj()) + b"\n"


def write_reference(path: str | os.PathLike[str], reference) -> None:
    """Write (or replace) the reference file atomically and durably: a reader, or a crash,
    sees the old file or the new one, never half of either. (The temporaries of
    interrupted writes are swept by the write itself.)"""
    replace_file(path, reference_bytes(reference))
    fsync_dir(Path(path).parent)


def read_reference(path: str | os.PathLike[str]):
    """The :class:`~receiptcore.contracts.ArtifactReference` in ``path``; SchemaError (exit 5)
    when it breaks the contract or is not in its one written form (an edit by hand)."""
    from receiptcore.contracts import ArtifactReference, load

    data = Path(path).read_bytes()
    source = f"reference file {os.fspath(path)}"
    reference = load(ArtifactReference, data, source)
    if data != reference_bytes(reference):
        raise SchemaError(
            f"{source}: not in its written form (RFC 8785 and one newline): it was edited by "
            "hand; write it again with receiptcore externalize"
        )
    return reference


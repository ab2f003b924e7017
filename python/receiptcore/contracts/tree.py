"""The tree manifest: the file list of a folder published as one artifact.

A tree artifact's ``artifact_commit`` is ``sha256(JCS(tree manifest))``: the manifest names every
file by its path relative to the folder, its size and its sha256, so the one commit binds every
byte of every file and every name. The manifest's canonical bytes are themselves an object in
the artifact store, under that commit, beside one object per file.

What a tree records is files only. A folder exists as the path of the files below it, so an
empty folder cannot be recorded, and publishing refuses one (as it refuses symlinks, special
files and names that are not UTF-8 or hold a control character) rather than drop it silently.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from receiptcore.contracts._base import (
    Count,
    SchemaVersion,
    Sha256Hex,
    StrictModel,
    check_sorted_unique_paths,
)

TREE_MEDIA_TYPE = "application/vnd.receiptcore.tree+json"
"""The ``mediaType`` of a receipt's subject when the artifact is a tree (absent for a file)."""

# A path segment: not empty, not "." or "..", no "/" or "\", no control character.
_CHAR = r"[^/\\\x00-\x1f\x7f]"
_SEGMENT = rf"(?:[^/\\.\x00-\x1f\x7f]{_CHAR}*|\.[^/\\.\x00-\x1f\x7f]{_CHAR}*|\.\.{_CHAR}+)"
TreePath = Annotated[
    str, StringConstraints(pattern=rf"^{_SEGMENT}(?:/{_SEGMENT})*$", max_length=4096)
]
"""A file's path relative to the tree's root: ``/``-separated segments, none empty, ``.`` or
``..``, without a backslash or a control character (so every tool, and ``sha256sum``'s output,
shows it as it is)."""


class TreeFile(StrictModel):
    """One file of a tree."""

    path: TreePath = Field(description="Path relative to the tree's root, `/`-separated.")
    size: Count = Field(description="Size in bytes.")
    sha256: Sha256Hex = Field(description="sha256 of the file's bytes, lowercase hex.")


class TreeManifest(StrictModel):
    """Every file of a folder published as one artifact.

    ``artifact_commit = sha256(JCS(tree manifest))``.
    """

    model_config = StrictModel.model_config | {
        "title": "TreeManifest",
        "json_schema_extra": {"$comment": "artifact_commit = sha256(RFC8785(document))"},
    }

    kind: Literal["tree_manifest"] = Field(description="Names the contract.")
    schema_version: SchemaVersion = Field(description="Major version of the contract.")
    files: list[TreeFile] = Field(
        min_length=1,
        description="Every file, sorted by the UTF-8 bytes of its path (the same order as by "
        "Unicode code points), each path once, and no path below another file's path.",
    )

    @field_validator("files")
    @classmethod
    def _sorted_unique_paths(cls, files: list[TreeFile]) -> list[TreeFile]:
        check_sorted_unique_paths(files)
        paths = {f.path for f in files}
        for f in files:
            folder = f.path
            while "/" in folder:
                folder = folder.rsplit("/", 1)[0]
                if folder in paths:
                    raise ValueError(f"{f.path!r} is below {folder!r}, which is a file")
        return files

"""Artifact ids: what they may hold, the default derived from a file or folder name, and the
``ID@COMMIT`` references that pin one version.

An id names a sequence of versions, each a commit (see docs/trees.md). The pattern is written
here once; the contracts' ``Identifier`` type reads it from this module (which imports nothing
heavy, so the command line can check an id before it loads pydantic).
"""

from __future__ import annotations

import os
import re

from receiptcore.commit import Commit
from receiptcore.errors import ArtifactIdError

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$"
ID_MAX_LENGTH = 255
ALLOWED = (
    "an id starts with a letter or digit, then letters, digits and . _ : / @ + - "
    f"(at most {ID_MAX_LENGTH} characters)"
)
_ID = re.compile(ID_PATTERN)


def is_valid(artifact_id: str) -> bool:
    return len(artifact_id) <= ID_MAX_LENGTH and _ID.match(artifact_id) is not None


def check_artifact_id(artifact_id: str) -> str:
    """``artifact_id`` itself, or ArtifactIdError saying what an id may hold."""
    if not is_valid(artifact_id):
        raise ArtifactIdError(f"{artifact_id!r} is not a valid artifact id: {ALLOWED}")
    return artifact_id


def default_artifact_id(path: str | os.PathLike[str]) -> str:
    """The id a file or folder is published under when none is given: its name, when that name
    is a valid id. Otherwise (a space, a leading dot, ``.``...) ArtifactIdError, with the
    allowed characters and a suggestion: a name is never silently rewritten into an id."""
    name = os.path.basename(os.path.normpath(os.fsdecode(path)))
    if is_valid(name):
        return name
    suggestion = re.sub(r"[^A-Za-z0-9._:/@+-]+", "-", name).strip("-._:/@+")
    hint = f", e.g. --artifact-id {suggestion}" if suggestion and is_valid(suggestion) else ""
    shown = name if name not in ("", ".", "..") else os.fsdecode(path)
    raise ArtifactIdError(
        f"cannot use the name {shown!r} as an artifact id ({ALLOWED}): pass --artifact-id{hint}"
    )


def parse_reference(text: str, commit: Commit | str | None = None) -> tuple[str, Commit | None]:
    """``ID@COMMIT`` (the commit as ``sha256:<hex>`` or bare hex) -> ``(ID, commit)``, or ``ID``
    -> ``(ID, commit)`` (None: its latest version). An id may itself hold ``@``: only a last
    part that is a commit is taken as one. ``commit`` (a ``--commit`` flag) must agree with a
    pinned reference."""
    flag = None if commit is None else Commit.parse(commit)
    head, sep, tail = text.rpartition("@")
    pinned = None
    if sep and head:
        try:
            pinned = Commit.parse(tail)
        except ValueError:
            pass
    if pinned is None:
        return check_artifact_id(text), flag
    if flag is not None and flag != pinned:
        raise ValueError(f"--commit {flag} and the reference's @{pinned} disagree: give one")
    return check_artifact_id(head), pinned


__all__ = [
    "ALLOWED",
    "ID_PATTERN",
    "check_artifact_id",
    "default_artifact_id",
    "is_valid",
    "parse_reference",
]

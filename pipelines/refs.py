"""Artifact references: ``ID@COMMIT`` (a pinned version) or ``ID`` (its latest version)."""

from __future__ import annotations

from dataclasses import dataclass

from receiptcore.commit import Commit


@dataclass(frozen=True)
class ArtifactRef:
    """An artifact id and, once verified or when pinned, its commit."""

    artifact_id: str
    commit: Commit | None = None

    @classmethod
    def parse(cls, text: str) -> ArtifactRef:
        """``ID@COMMIT`` (commit as ``sha256:<hex>`` or bare hex) or ``ID``. An id may itself hold
        ``@``: only a last part that is a commit is taken as one."""
        head, sep, tail = text.rpartition("@")
        if sep and head:
            try:
                return cls(head, Commit.parse(tail))
            except ValueError:
                pass
        if not text:
            raise ValueError("an artifact reference is ID or ID@COMMIT, not empty")
        return cls(text)

    def to_json(self) -> dict[str, str]:
        """The form build manifests record under ``parameters.inputs`` (bare hex commit)."""
        if self.commit is None:
            raise ValueError(f"{self.artifact_id}: an unresolved reference cannot be recorded")
        return {"artifact_id": self.artifact_id, "artifact_commit": self.commit.hex}

    def __str__(self) -> str:
        return self.artifact_id if self.commit is None else f"{self.artifact_id}@{self.commit}"

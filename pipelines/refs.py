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
        """``ID@COMMIT`` (commit as ``sha256:<hex>`` or bare hex) or ``ID``, read by the
        library's :func:`receiptcore.ids.parse_reference` (an id may itself hold ``@``)."""
        from receiptcore.ids import parse_reference

        artifact_id, commit = parse_reference(text)
        return cls(artifact_id, commit)

    def to_json(self) -> dict[str, str]:
        """The form build manifests record under ``parameters.inputs`` (bare hex commit)."""
        if self.commit is None:
            raise ValueError(f"{self.artifact_id}: an unresolved reference cannot be recorded")
        return {"artifact_id": self.artifact_id, "artifact_commit": self.commit.hex}

    def __str__(self) -> str:
        return self.artifact_id if self.commit is None else f"{self.artifact_id}@{self.commit}"

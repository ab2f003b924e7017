"""The versions of an artifact id: the distinct commits published under it, in ledger order.

An id names a sequence of versions. Version 1 is the first commit published under the id;
publishing other bytes makes the next version, and only with ``--new-version`` (so that two
models' ``config.json`` never silently share an id); publishing the latest version's bytes again
is a no-op. A commit that is an older version cannot be published again: it would leave two
ledger entries disagreeing about which version is the latest. An older version stays
reachable by pinning it, ``ID@COMMIT``.

The ledger's lookup columns (id, commit) find the entries; they are not signed, so a verifier
checks the receipt it picked names that id and commit, and ``receiptcore ledger verify`` checks
every row's columns against its receipt.
"""

from __future__ import annotations

from dataclasses import dataclass

from receiptcore.commit import Commit
from receiptcore.errors import VersionExists


@dataclass(frozen=True)
class Version:
    """One version: its number (from 1), its commit, and the ledger entry that records it (the
    latest entry for that commit)."""

    number: int
    commit: Commit
    index: int

    def describe(self) -> str:
        return f"version {self.number}, {self.commit} (ledger entry {self.index})"


@dataclass(frozen=True)
class Versions:
    """Every version of ``artifact_id``, oldest first; ``latest`` is the one whose entry is the
    newest."""

    artifact_id: str
    versions: tuple[Version, ...]
    latest: Version | None

    @classmethod
    def of(cls, ledger, artifact_id: str) -> Versions:
        """From the ledger's entries for ``artifact_id`` (a ``find_all`` of the Ledger protocol)."""
        first: dict[Commit, int] = {}
        last: dict[Commit, int] = {}
        newest: Commit | None = None
        for entry in ledger.find_all(artifact_id=artifact_id):
            try:
                commit = Commit.parse(entry.artifact_commit)
            except ValueError:  # a column edited into nonsense names no version
                continue
            first.setdefault(commit, len(first) + 1)
            last[commit] = entry.index
            newest = commit
        versions = tuple(Version(n, c, last[c]) for c, n in first.items())
        latest = None if newest is None else versions[first[newest] - 1]
        return cls(artifact_id, versions, latest)

    def __bool__(self) -> bool:
        return bool(self.versions)

    def find(self, commit: Commit) -> Version | None:
        return next((v for v in self.versions if v.commit == commit), None)

    def describe(self) -> str:
        return "; ".join(f"{v.number}: {v.commit} (entry {v.index})" for v in self.versions)

    def admit(self, commit: Commit, new_version: bool) -> int:
        """The version number ``commit`` gets (or has) under this id; VersionExists when it
        needs ``new_version`` or is an older version."""
        if self.latest is None:
            return 1
        if commit == self.latest.commit:
            return self.latest.number
        older = self.find(commit)
        if older is not None:
            raise VersionExists(
                f"{commit} is already version {older.number} of {self.artifact_id} (ledger entry "
                f"{older.index}), and the latest is {self.latest.describe()}: a version cannot "
                f"be published again; use the old one pinned, {self.artifact_id}@{commit}"
            )
        if not new_version:
            raise VersionExists(
                f"{self.artifact_id} already has {self.latest.describe()}; these bytes are "
                f"{commit}: pass --new-version to make them version {len(self.versions) + 1}, "
                "or --artifact-id to publish them under another id"
            )
        return len(self.versions) + 1

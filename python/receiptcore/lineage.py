"""Lineage: an artifact's build, walked back to its datasets, every step verified.

A receipt names the build manifest that made the artifact; the build manifest names the dataset
manifests it read and, under ``parameters.inputs``, the artifacts it read, each as
``{"artifact_id": ..., "artifact_commit": ...}`` by role (``"embeddings"``, ``"model"``...).
:func:`lineage` verifies the artifact through the one :func:`receiptcore.verify.verify`, reads its
build manifest back from the store (the object's sha256 is the commit the signed receipt names),
checks that the manifest lists the artifact, then does the same for every input, down to the
dataset manifests (stored under their commits by whoever built from them).

Fail-closed: the first failure anywhere raises its own error class (so its own exit code), with
the path from the root to the failing step in front of the message, e.g.
``docs.faiss -> embeddings docs.embeddings -> dataset 3f2a...: stored object ... was changed``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

from receiptcore.commit import Commit
from receiptcore.contracts import BuildManifest, DatasetManifest, load
from receiptcore.errors import DigestMismatch, ReceiptcoreError, SchemaError
from receiptcore.store import open_store
from receiptcore.util.home import home_dir
from receiptcore.verify import verify

INPUTS = "inputs"
"""The build parameter that names a build's input artifacts, by role."""


@dataclass
class Node:
    """One verified step: an artifact (with its build) or a dataset manifest."""

    kind: Literal["artifact", "dataset"]
    commit: Commit
    role: str | None = None
    artifact_id: str | None = None
    ledger_index: int | None = None
    build_manifest_commit: Commit | None = None
    detail: str = ""
    children: list[Node] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "role": self.role,
            "artifact_id": self.artifact_id,
            "commit": str(self.commit),
            "ledger_index": self.ledger_index,
            "build_manifest_commit": (
                None if self.build_manifest_commit is None else str(self.build_manifest_commit)
            ),
            "detail": self.detail,
            "inputs": [child.to_json() for child in self.children],
        }

    def render(self) -> str:
        """The tree of commits, one line per step."""
        lines = [self._line()]
        self._render_children("", lines)
        return "\n".join(lines)

    def _line(self) -> str:
        role = f"{self.role}: " if self.role else ""
        if self.kind == "dataset":
            return f"{role}dataset {self.commit} {self.detail}".rstrip()
        where = f" (ledger entry {self.ledger_index})" if self.ledger_index is not None else ""
        return f"{role}{self.artifact_id} {self.commit}{where} {self.detail}".rstrip()

    def _render_children(self, prefix: str, lines: list[str]) -> None:
        for i, child in enumerate(self.children):
            last = i == len(self.children) - 1
            lines.append(prefix + ("└─ " if last else "├─ ") + child._line())
            child._render_children(prefix + ("   " if last else "│  "), lines)


def lineage(
    artifact_id: str,
    *,
    commit: Commit | str | None = None,
    home: str | os.PathLike[str] | None = None,
    trust=None,
    ledger_key=None,
    state=None,
    ledger: str | None = None,
    store: str | None = None,
    strict: bool = False,
) -> Node:
    """Verify ``artifact_id`` (at ``commit``, or its latest version) and everything it was built
    from; returns the tree. Raises the first failure's own error, its message led by the path.
    ``ledger``, ``store`` and ``strict`` are as for :func:`~receiptcore.verify.verify`."""
    walk = _Walk(home_dir(home), store, {"trust": trust, "ledger_key": ledger_key,
                                         "state": state, "ledger": ledger, "store": store,
                                         "strict": strict})
    return walk.artifact(artifact_id, None if commit is None else Commit.parse(commit), None, [])


@dataclass
class _Walk:
    home: os.PathLike[str]
    store: str | None
    options: dict
    done: dict[tuple[str, Commit], Node] = field(default_factory=dict)

    def artifact(self, artifact_id: str, commit: Commit | None, role: str | None,
                 path: list[str]) -> Node:
        path = [*path, f"{role} {artifact_id}" if role else artifact_id]
        if commit is not None and (artifact_id, commit) in self.done:
            seen = self.done[(artifact_id, commit)]
            return Node("artifact", commit, role, artifact_id, seen.ledger_index,
                        seen.build_manifest_commit, "(verified above)")
        with _located(path):
            verdict = verify(artifact_id=artifact_id, commit=commit, home=self.home,
                             **self.options)
            commit = verdict.artifact_commit
            build = read_stored_manifest(verdict.build_manifest_commit, BuildManifest,
                                         home=self.home, store=self.store)
            if not any(o.artifact_id == artifact_id and Commit(o.artifact_commit) == commit
                       for o in build.outputs):
                raise DigestMismatch(
                    f"build manifest {verdict.build_manifest_commit} does not list "
                    f"{artifact_id} {commit} among its outputs"
                )
            inputs = input_refs(build, verdict.build_manifest_commit)
        node = Node("artifact", commit, role, artifact_id, verdict.ledger_index,
                    verdict.build_manifest_commit)
        self.done[(artifact_id, commit)] = node
        for dataset in build.inputs.dataset_manifest_commits:
            node.children.append(self.dataset(Commit(dataset), path))
        for input_role, (input_id, input_commit) in sorted(inputs.items()):
            node.children.append(self.artifact(input_id, input_commit, input_role, path))
        return node

    def dataset(self, commit: Commit, path: list[str]) -> Node:
        with _located([*path, f"dataset {commit.hex[:12]}"]):
            manifest = read_stored_manifest(commit, DatasetManifest, home=self.home,
                                            store=self.store)
        files = len(manifest.files)
        return Node("dataset", commit, detail=f"{manifest.name} ({files} file{'s' * (files != 1)})")



def read_stored_manifest(commit: Commit | str, model, *, home=None, store: str | None = None):
    """A manifest read back from the artifact store (URL ``store``; ``model``: BuildManifest or
    DatasetManifest); its bytes must hash to ``commit`` (DigestMismatch), and it must be in the
    store (ObjectNotFound)."""
    commit = Commit.parse(commit)
    with open_store(store, home=home).open(commit) as reader:
        data = reader.read()
    return load(model, data, f"stored manifest {commit}")


def input_refs(build: BuildManifest, commit: Commit | str) -> dict[str, tuple[str, Commit]]:
    """The input artifacts a build manifest names under ``parameters.inputs``, by role:
    ``{role: (artifact_id, commit)}``. SchemaError if that parameter is malformed."""
    refs = build.inputs.parameters.get(INPUTS, {})
    where = f"build manifest {commit}: parameters.{INPUTS}"
    if not isinstance(refs, dict):
        raise SchemaError(f"{where}: expected an object of role -> artifact reference")
    found = {}
    for role, ref in refs.items():
        if not (isinstance(ref, dict) and set(ref) == {"artifact_id", "artifact_commit"}):
            raise SchemaError(f"{where}.{role}: expected {{artifact_id, artifact_commit}}")
        found[role] = (ref["artifact_id"], Commit.parse(ref["artifact_commit"]))
    return found


class _located:
    """Re-raises a failure as its own class (so with its own exit code), the path to the failing
    step in front of its message."""

    def __init__(self, path: list[str]) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> None:
        if isinstance(error, ReceiptcoreError) and not hasattr(error, "lineage_path"):
            located = type(error)(f"{' -> '.join(self.path)}: {error}")
            located.lineage_path = self.path
            raise located from error

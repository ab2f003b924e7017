"""Manifests and the commitments computed over them.

- ``dataset_manifest_commit = sha256(JCS(dataset manifest))``
- ``build_manifest_commit   = sha256(JCS(build manifest))``
- ``artifact_commit         = sha256(artifact bytes)``, or for a folder sha256(JCS(tree manifest))

Each is a :class:`~receiptcore.commit.Commit`; the documents themselves carry bare hex.

JCS is RFC 8785, done by the native core (:func:`receiptcore.canonical_sha256`); file hashing is
the native engine's too, in parallel. This module only decides what goes into a manifest.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from receiptcore._core import canonical_sha256, hash_file, hash_files, walk
from receiptcore.commit import Commit, contract_hex
from receiptcore.contracts import BuildManifest, DatasetManifest, parse_json_bytes, validate
from receiptcore.errors import NothingToRead, SchemaError
from receiptcore.util.files import raise_unlisted
from receiptcore.util.reading import read_document

Manifest = DatasetManifest | BuildManifest


def commit_of(manifest: Manifest) -> Commit:
    """sha256 of the RFC 8785 canonical JSON of a manifest: its commit."""
    return Commit(canonical_sha256(manifest.to_json_obj()))


dataset_manifest_commit = commit_of
build_manifest_commit = commit_of


def artifact_commit(path: str | os.PathLike[str], progress=None) -> Commit:
    """The commit ``publish`` records for a path: a file's sha256, or a folder's tree commit
    (sha256 of the RFC 8785 form of its file list; TreeRefused for what a tree cannot record).
    ``progress(bytes_done, bytes_total, files_done, files_total)``."""
    if not os.path.isdir(path):
        return Commit(hash_file(path, "sha256"))
    from receiptcore.digests import digest_path
    from receiptcore.tree import refuse_unrecordable

    found = digest_path(path, progress=progress)
    if found.commit is None:
        refuse_unrecordable(found.listing)  # type: ignore[arg-type]
    return found.commit  # type: ignore[return-value]


def list_corpus(root: str | os.PathLike[str]) -> list[tuple[str, str, int]]:
    """``(relative POSIX path, filesystem path, size)`` of every regular file under ``root``,
    sorted by relative path. Hidden files count. Symlinks to files are followed (their content
    is what a reader gets); a symlink to a directory, a device, pipe or socket is an error, not a
    skip: a manifest that silently leaves something out commits to the wrong corpus. The
    native walk lists the tree (nothing opened); only symlinks are looked at again here."""
    root = os.fspath(root)
    if not os.path.isdir(root):
        if os.path.exists(root):
            raise NotADirectoryError(20, "Not a directory", root)
        raise FileNotFoundError(2, "No such file or directory", root)
    found = []
    for entry in walk(root, "tree", sniff=False):
        path = os.path.join(root, entry.path)
        size = entry.size
        if entry.kind == "directory":
            raise_unlisted(path, entry)
        if entry.kind != "file" or entry.error is not None:
            info = os.stat(path)  # follows symlinks; a dangling one raises
            if stat.S_ISDIR(info.st_mode):
                raise ValueError(f"{path}: symlink to a directory; a corpus must not hold one")
            if not stat.S_ISREG(info.st_mode):
                raise ValueError(f"{path}: not a regular file (device, pipe or socket)")
            size = info.st_size
        try:
            entry.path.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{path!r}: file name is not valid UTF-8") from None
        found.append((entry.path, path, size))
    return found


def dataset_manifest(
    root: str | os.PathLike[str],
    *,
    name: str,
    source: str,
    license: str,
    owner: str,
    threads: int | None = None,
    progress: Callable[[int, int], object] | None = None,
    files: list[tuple[str, str, int]] | None = None,
) -> DatasetManifest:
    """The manifest of the corpus under ``root``: every file's relative path, size and sha256
    (hashed in parallel; ``progress(bytes_done, files_done)`` as in :func:`receiptcore.hash_files`).
    ``files`` is :func:`list_corpus` of ``root``, if the caller already has it."""
    files = list_corpus(root) if files is None else files
    if not files:
        raise NothingToRead(
            f"{os.fspath(root)}: no file in the corpus (a manifest of nothing commits to nothing)"
        )
    paths = [path for _, path, _ in files]
    digests = hash_files(paths, algo="sha256", threads=threads, progress=progress)
    entries = [
        {"path": relative, "size": size, "sha256": digest}
        for (relative, _, size), digest in zip(files, digests)
    ]
    return validate(
        DatasetManifest,
        {
            "kind": "dataset_manifest",
            "schema_version": 1,
            "name": name,
            "source": source,
            "license": license,
            "owner": owner,
            "files": entries,
        },
        "dataset manifest",
    )


def build_manifest(
    *,
    dataset_manifest_commits: Iterable[Commit | str],
    code_revision: str,
    outputs: Mapping[str, Commit | str],
    parameters: Mapping[str, Any] | None = None,
    seeds: Mapping[str, int] | None = None,
    libraries: Mapping[str, str] | None = None,
) -> BuildManifest:
    """The manifest of a build. ``outputs`` maps artifact_id -> artifact_commit. Lists are put
    in canonical order here (commits sorted and deduplicated, outputs sorted by id)."""
    return validate(
        BuildManifest,
        {
            "kind": "build_manifest",
            "schema_version": 1,
            "inputs": {
                "dataset_manifest_commits": sorted({contract_hex(c) for c in dataset_manifest_commits}),
                "code_revision": code_revision,
                "parameters": dict(parameters or {}),
                "seeds": dict(seeds or {}),
                "libraries": dict(libraries or {}),
            },
            "outputs": [
                {"artifact_id": artifact_id, "artifact_commit": contract_hex(commit)}
                for artifact_id, commit in sorted(outputs.items())
            ],
        },
        "build manifest",
    )


def library_versions(names: Iterable[str]) -> dict[str, str]:
    """Installed versions of the named distributions (``torch``, ``sentence-transformers``)."""
    import importlib.metadata  # here: it costs a CLI's start-up a tenth of a second

    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            raise ValueError(f"library {name!r} is not installed; give NAME==VERSION") from None
    return versions


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """A dataset or build manifest file, told apart by its ``kind``. OSError if unreadable,
    SchemaError if not JSON or not a valid manifest."""
    path = os.fspath(path)
    document = parse_json_bytes(read_document(path, "manifest"), path)
    kind = document.get("kind") if isinstance(document, dict) else None
    models: dict[Any, type[Manifest]] = {
        "dataset_manifest": DatasetManifest,
        "build_manifest": BuildManifest,
    }
    if kind not in models:
        raise SchemaError(f"{path}: kind: expected 'dataset_manifest' or 'build_manifest', got {kind!r}")
    return validate(models[kind], document, path)


def read_manifest_of(path: str | os.PathLike[str], model: type[Manifest]) -> Manifest:
    """Like :func:`read_manifest`, but the file must hold a ``model``."""
    manifest = read_manifest(path)
    if not isinstance(manifest, model):
        expected = "dataset_manifest" if model is DatasetManifest else "build_manifest"
        raise SchemaError(f"{os.fspath(path)}: kind: expected {expected!r}, got {manifest.kind!r}")
    return manifest


__all__ = [
    "artifact_commit",
    "build_manifest",
    "build_manifest_commit",
    "commit_of",
    "dataset_manifest",
    "dataset_manifest_commit",
    "library_versions",
    "list_corpus",
    "read_manifest",
    "read_manifest_of",
]

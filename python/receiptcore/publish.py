"""Publishing an artifact, a file or a folder, on the embedded defaults: store the bytes, sign
a receipt, log it.

:func:`publish` is what ``receiptcore publish`` runs and what a pipeline calls. The order makes
every failure harmless:

1. every file is copied into the store's temporary folder while it is hashed (one read of each
   byte; files in parallel; each fsynced), or, in object storage, uploaded under its commit
   while it is hashed. A file that changes while it is read fails here;
2. the artifact's commit is known: the file's sha256, or a folder's tree commit (sha256 of the
   RFC 8785 form of its file list). The id is resolved and checked against the versions the
   ledger already holds for it. A refusal here removes the temporaries: nothing was stored;
3. the objects are named (a content-addressed name is never replaced), the tree's file list is
   stored last, as an object under the tree's commit, and every folder that gained a name is
   fsynced: a tree's file list is in the store only once all its files are;
4. the receipt is signed and appended to the ledger in one transaction.

A crash before 4 leaves unreferenced objects at most, never a receipt for bytes that are not
there, nor a stored tree with a file missing.

Without ``build``, publish records a build manifest that states only the output
(``code_revision: "unrecorded"``) and stores it under its own commit, so the commit a receipt
names can always be looked up.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from receiptcore._core import canonicalize
from receiptcore.commit import Commit
from receiptcore.commitments import build_manifest, commit_of, read_manifest_of
from receiptcore.contracts import TREE_MEDIA_TYPE, BuildManifest, DatasetManifest
from receiptcore.errors import DigestMismatch, TreeRefused
from receiptcore.ids import check_artifact_id, default_artifact_id
from receiptcore.ledger import open_ledger
from receiptcore.signing.keys import (
    ENV_SIGNING_KEY,
    SigningKey,
    load_signing_key,
    write_key_pair,
)
from receiptcore.signing.receipts import DEFAULT_ISSUER, envelope_bytes, sign_receipt
from receiptcore.signing.trust import add_trusted_key
from receiptcore.store import open_store
from receiptcore.tree import ManifestReader, list_folder, refuse_unrecordable, tree_commit
from receiptcore.util.atomic import exclusive_lock, sweep_temporaries
from receiptcore.util.home import SIGNING_KEY_FILE, TRUST_FILE, home_dir
from receiptcore.util.reading import artifact_source
from receiptcore.versions import Versions

if TYPE_CHECKING:
    from receiptcore.store.base import Store

UNRECORDED = "unrecorded"
SETUP_LOCK = "setup.lock"  # first-time setup of a home (signing key and trust file) queues here

Progress = Callable[[int, int, int, int], object]
"""``progress(bytes_done, bytes_total, files_done, files_total)``, about every 100 ms."""


@dataclass(frozen=True)
class Publication:
    """The artifact reference ``{artifact_id, uri, artifact_commit}``, what it is, and where it
    was logged. ``version`` counts the distinct commits published under the id, this one
    included."""

    artifact_id: str
    uri: str
    artifact_commit: str
    kind: Literal["file", "tree"]
    size: int
    files: int
    version: int
    ledger_index: int
    build_manifest_commit: str
    keyid: str

    @property
    def reference(self) -> dict[str, str]:
        return {
            "artifact_id": self.artifact_id,
            "uri": self.uri,
            "artifact_commit": self.artifact_commit,
        }

    def to_json(self) -> dict:
        return asdict(self)


def publish(
    path: str | os.PathLike[str],
    *,
    build: str | os.PathLike[str] | BuildManifest | None = None,
    artifact_id: str | None = None,
    new_version: bool = False,
    key: SigningKey | None = None,
    issuer: str = DEFAULT_ISSUER,
    home: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    ledger: str | None = None,
    store: str | None = None,
) -> Publication:
    """Store, sign and log the file or folder at ``path``; returns its reference.

    The id is ``artifact_id``, else the one ``build`` lists for these bytes, else the file's
    or folder's name when that is a valid id. Other bytes under an id that has a version need
    ``new_version=True`` (VersionExists otherwise); the same bytes again are a no-op.
    ``ledger`` and ``store`` are URLs (default: :mod:`receiptcore.util.locations`).
    """
    if isinstance(build, str | os.PathLike):
        build = read_manifest_of(build, BuildManifest)
    if artifact_id is not None:
        check_artifact_id(artifact_id)
    elif build is None:
        artifact_id = default_artifact_id(path)  # before any byte is read
    home = home_dir(home, create=True)
    # First: a publisher killed later leaves a home whose trust file names its key (issue 17 #9)
    key = key or embedded_signing_key(home)
    store = open_store(store, home=home)
    is_tree = os.path.isdir(path)
    if is_tree:
        _refuse_the_home_inside(path, home)
        listing = list_folder(path)
        refuse_unrecordable(listing)
        count, total = len(listing.files), listing.size
    else:
        source = artifact_source(path)  # no symlink unless followed, no device or FIFO
        count, total = 1, os.stat(source).st_size
    report = None
    if progress is not None:
        report = lambda done, files: progress(done, total, files, count)
    # The list of source paths is made for the call only: a tree's 100,000 of them are not kept.
    with store.stage_files(listing.paths() if is_tree else [source], report) as staged:
        if is_tree:
            # The file list is made twice (hashed now, stored once the files are named), never
            # held whole: it is 13 MB for 100,000 files.
            rows = lambda: (
                (rel, size, digest)
                for (rel, _), (digest, size) in zip(listing.files, staged.copied)
            )
            commit = tree_commit(rows())
        else:
            commit = Commit(staged.copied[0][0])
        artifact_id = _artifact_id(build, artifact_id, commit, path)
        with open_ledger(ledger, writable=True, home=home) as log:
            versions = Versions.of(log, artifact_id)
            version = versions.admit(commit, new_version)
            staged.place()
            if is_tree:
                stored = store.put_stream(ManifestReader(rows()))
                assert stored == commit, "a tree's file list is stored under the tree's commit"
            if build is None:
                build = build_manifest(
                    dataset_manifest_commits=[], code_revision=UNRECORDED, outputs={artifact_id: commit}
                )
            build_commit = _store_manifest(store, build)
            envelope = sign_receipt(
                artifact_id,
                commit,
                store.uri(commit),
                build_commit,
                build.inputs.dataset_manifest_commits,
                key,
                issuer=issuer,
                media_type=TREE_MEDIA_TYPE if is_tree else None,
            )
            entry = log.append(envelope_bytes(envelope), artifact_id, str(commit))
    return Publication(
        artifact_id=artifact_id,
        uri=store.uri(commit),
        artifact_commit=str(commit),
        kind="tree" if is_tree else "file",
        size=staged.size,
        files=len(staged.copied),
        version=version,
        ledger_index=entry.index,
        build_manifest_commit=str(build_commit),
        keyid=key.keyid,
    )


def store_manifest(
    manifest: BuildManifest | DatasetManifest,
    *,
    home: str | os.PathLike[str] | None = None,
    store: str | None = None,
) -> Commit:
    """Store a manifest's RFC 8785 bytes in the artifact store (URL ``store``), under its commit
    (their sha256), so that a commit named by a receipt or another manifest can always be looked
    up and re-checked (``receiptcore verify --lineage`` reads them back). A writer, like
    :func:`publish`: a missing home is made."""
    return _store_manifest(open_store(store, home=home_dir(home, create=True)), manifest)


def _store_manifest(store: Store, manifest: BuildManifest | DatasetManifest) -> Commit:
    commit = commit_of(manifest)
    stored = store.put_stream(io.BytesIO(canonicalize(manifest.to_json_obj())))
    assert stored == commit, "a manifest is stored under its commit"
    return commit


def _refuse_the_home_inside(folder: str | os.PathLike[str], home: Path) -> None:
    """A folder that holds the home would be published along with the keys and the store."""
    folder, inside = Path(folder).resolve(), home.resolve()
    if inside == folder or folder in inside.parents:
        raise TreeRefused(
            f"{os.fspath(folder)} holds the receiptcore home {os.fspath(inside)} (its keys and "
            "objects): publish a folder that does not, or use another --home"
        )


def _artifact_id(
    build: BuildManifest | None, artifact_id: str | None, commit: Commit, path
) -> str:
    """The id given, else the one ``build`` lists for these bytes (checked, never assumed),
    else the name of the file or folder."""
    if build is None:
        return artifact_id  # type: ignore[return-value] - given, or the name's
    outputs = {o.artifact_id: Commit(o.artifact_commit) for o in build.outputs}
    if artifact_id is None:
        matches = [name for name, c in outputs.items() if c == commit]
        if len(matches) != 1:
            raise DigestMismatch(
                f"{os.fspath(path)} ({commit}) is not one output of the build manifest; "
                f"its outputs are {', '.join(outputs)} (pick one with --artifact-id)"
            )
        return matches[0]
    if artifact_id not in outputs:
        raise ValueError(f"{artifact_id!r} is not an output of the build manifest")
    if outputs[artifact_id] != commit:
        raise DigestMismatch(
            f"{os.fspath(path)} hashes to {commit}, but the build manifest says "
            f"{artifact_id} is {outputs[artifact_id]}"
        )
    return artifact_id


def embedded_signing_key(home: Path) -> SigningKey:
    """The CI's key from ``$RECEIPTCORE_SIGNING_KEY``, else ``<home>/signing.key``, made on first
    use and added to ``<home>/trust.json`` so that a verifier on this machine trusts it.

    First use is all or nothing, whenever the process is killed: under a lock (concurrent first
    publishes make one key), the trust file names the new key before the key file appears, so a
    home never holds a signing key its trust file lacks (every verify would exit 2). A kill in
    between leaves a trusted key nobody holds, harmless: the next publish makes the key again."""
    if os.environ.get(ENV_SIGNING_KEY):
        return load_signing_key(None)
    path = home / SIGNING_KEY_FILE
    if path.exists():
        sweep_temporaries(home)  # what a setup killed after the key appeared left
        return load_signing_key(path)
    home.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(home / SETUP_LOCK):
        if path.exists():  # made by another process while this one waited
            return load_signing_key(path)
        Path(f"{path}.pub").unlink(missing_ok=True)  # left by a setup killed before the key
        key = SigningKey.generate()
        add_trusted_key(home / TRUST_FILE, key.public_key, f"embedded key of {home.resolve()}")
        write_key_pair(path, key)
        return key

"""Publishing an artifact on the embedded defaults: store the bytes, sign a receipt, log it.

:func:`publish` is what ``receiptcore publish`` runs and what a pipeline calls. The order makes
every failure harmless: the bytes are stored first (content-addressed, so a retry is a no-op),
then the receipt is signed, then appended to the ledger in one transaction. A crash before the
append leaves an unreferenced object, never a receipt for bytes that are not there.

Without ``--build-manifest`` the receipt still needs a build manifest commit; publish then
records one that states only the output (``code_revision: "unrecorded"``) and stores it in the
artifact store under its own commit, so the commit a receipt names can always be looked up.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from receiptcore._core import canonicalize
from receiptcore.commit import Commit
from receiptcore.commitments import build_manifest, commit_of, read_manifest_of
from receiptcore.contracts import BuildManifest, DatasetManifest
from receiptcore.errors import DigestMismatch, SigningKeyError
from receiptcore.ledger import open_ledger
from receiptcore.signing.keys import (
    ENV_SIGNING_KEY,
    SigningKey,
    generate_key_pair,
    load_signing_key,
)
from receiptcore.signing.receipts import DEFAULT_ISSUER, envelope_bytes, sign_receipt
from receiptcore.signing.trust import add_trusted_key
from receiptcore.store import open_store
from receiptcore.util.home import SIGNING_KEY_FILE, TRUST_FILE, home_dir

if TYPE_CHECKING:
    from receiptcore.store.base import Store

UNRECORDED = "unrecorded"


@dataclass(frozen=True)
class Publication:
    """The artifact reference ``{artifact_id, uri, artifact_commit}`` and where it was logged."""

    artifact_id: str
    uri: str
    artifact_commit: str
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
    key: SigningKey | None = None,
    issuer: str = DEFAULT_ISSUER,
    home: str | os.PathLike[str] | None = None,
    progress: Callable[[int], None] | None = None,
    ledger: str | None = None,
    store: str | None = None,
) -> Publication:
    """Store, sign and log the file at ``path``; returns its reference and ledger index.

    ``ledger`` and ``store`` are URLs (default: :mod:`receiptcore.util.locations`)."""
    home = home_dir(home)
    objects = open_store(store, home=home)
    if isinstance(build, str | os.PathLike):
        build = read_manifest_of(build, BuildManifest)
    commit = objects.put_file(path, progress)
    if build is None:
        artifact_id = artifact_id or Path(path).name
        build = build_manifest(
            dataset_manifest_commits=[], code_revision=UNRECORDED, outputs={artifact_id: commit}
        )
    else:
        artifact_id = _output_of(build, artifact_id, commit, path)
    build_commit = _store_manifest(objects, build)
    key = key or embedded_signing_key(home)
    envelope = sign_receipt(
        artifact_id,
        commit,
        objects.uri(commit),
        build_commit,
        build.inputs.dataset_manifest_commits,
        key,
        issuer=issuer,
    )
    with open_ledger(ledger, writable=True, home=home) as log:
        entry = log.append(envelope_bytes(envelope), artifact_id, str(commit))
    return Publication(
        artifact_id, objects.uri(commit), str(commit), entry.index, str(build_commit), key.keyid
    )


def store_manifest(
    manifest: BuildManifest | DatasetManifest,
    *,
    home: str | os.PathLike[str] | None = None,
    store: str | None = None,
) -> Commit:
    """Store a manifest's RFC 8785 bytes in the artifact store (URL ``store``), under its commit
    (their sha256), so that a commit named by a receipt or another manifest can always be looked
    up and re-checked (``receiptcore verify --lineage`` reads them back)."""
    return _store_manifest(open_store(store, home=home), manifest)


def _store_manifest(store: Store, manifest: BuildManifest | DatasetManifest) -> Commit:
    commit = commit_of(manifest)
    stored = store.put_stream(io.BytesIO(canonicalize(manifest.to_json_obj())))
    assert stored == commit, "a manifest is stored under its commit"
    return commit


def _output_of(build: BuildManifest, artifact_id: str | None, commit: Commit, path) -> str:
    """The artifact id under which ``build`` lists these bytes (checked, never assumed)."""
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
    use and added to ``<home>/trust.json`` so that a verifier on this machine trusts it."""
    if os.environ.get(ENV_SIGNING_KEY):
        return load_signing_key(None)
    path = home / SIGNING_KEY_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        try:
            key = generate_key_pair(path)
        except SigningKeyError:  # another process made it first
            key = load_signing_key(path)
        add_trusted_key(home / TRUST_FILE, key.public_key, f"embedded key of {home.resolve()}")
        return key
    return load_signing_key(path)

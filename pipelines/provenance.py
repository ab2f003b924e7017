"""What every pipeline does around its work: verify its inputs, record what shaped the output,
publish the outputs under one build manifest.

Inputs are taken by reference and verified through the library's one
:func:`receiptcore.verify.verify` before a byte of them is used (fail-closed: nothing is built
from an unverified input). File inputs are then copied out of the store through a reader that
re-checks their sha256. A build manifest records ``parameters.inputs`` (role -> ``{artifact_id,
artifact_commit}``), which is what ``receiptcore verify --lineage`` walks.

Publishing is the last step, after every output is complete, and Ctrl-C is held back while it
runs (then raised): an interrupted pipeline publishes all of its outputs or none.
"""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.refs import ArtifactRef
from receiptcore.commit import Commit
from receiptcore.commitments import artifact_commit, build_manifest, commit_of, library_versions
from receiptcore.contracts import BuildManifest
from receiptcore.lineage import input_refs, read_stored_manifest
from receiptcore.publish import Publication, publish
from receiptcore.store import open_store
from receiptcore.verify import Verdict, verify

ENV_CODE_REVISION = "RECEIPTCORE_CODE_REVISION"


@dataclass(frozen=True)
class VerifiedInput:
    """An input artifact after verification: its pinned reference and what its receipt says."""

    ref: ArtifactRef
    verdict: Verdict

    def build(self, home) -> BuildManifest:
        """The build manifest that made it, read back from the store (hash-checked)."""
        return read_stored_manifest(self.verdict.build_manifest_commit, BuildManifest, home=home)

    def inputs(self, home) -> dict[str, ArtifactRef]:
        """The artifacts its build read, by role."""
        commit = self.verdict.build_manifest_commit
        return {role: ArtifactRef(i, c) for role, (i, c) in input_refs(self.build(home), commit).items()}


def verify_input(ref: ArtifactRef, home=None) -> VerifiedInput:
    """Verify ``ref`` (its latest version when no commit is pinned); raises the verification's
    own error, whose message says which input failed."""
    with naming_the_input(ref):
        verdict = verify(artifact_id=ref.artifact_id, commit=ref.commit, home=home, mode="enforce")
    return VerifiedInput(ArtifactRef(ref.artifact_id, verdict.artifact_commit), verdict)


@contextmanager
def naming_the_input(ref: ArtifactRef) -> Iterator[None]:
    """A verification's error (same class, same exit code), its message prefixed with the input."""
    try:
        yield
    except Exception as error:
        if not hasattr(error, "exit_code"):
            raise
        named = copy.copy(error)  # keeps what the error carries (a tree's differing files...)
        named.args = (f"input {ref}: {error}",)
        raise named from error


def fetch_file(verified: VerifiedInput, dest: str | os.PathLike[str], home=None) -> Path:
    """Copy a verified file artifact out of the store; ``dest`` appears only if its bytes hash
    to the verified commit."""
    open_store(None, home=home).get(verified.ref.commit, dest)
    return Path(dest)


def code_revision() -> str:
    """``$RECEIPTCORE_CODE_REVISION`` (a CI sets it), else the git commit of this checkout with
    ``+dirty`` when the pipelines' or the library's code differs from it, else the package."""
    if os.environ.get(ENV_CODE_REVISION):
        return os.environ[ENV_CODE_REVISION]
    here = Path(__file__).resolve().parent
    try:
        head = _git(here, "rev-parse", "HEAD")
        dirty = _git(here, "status", "--porcelain", "--", "pipelines", "python")
    except (OSError, subprocess.CalledProcessError):
        return f"receiptcore-pipelines {library_versions(['receiptcore-pipelines'])['receiptcore-pipelines']}"
    return head + ("+dirty" if dirty else "")


def _git(where: Path, *args: str) -> str:
    top = subprocess.run(["git", "-C", str(where), "rev-parse", "--show-toplevel"], check=True,
                         capture_output=True, text=True).stdout.strip()
    return subprocess.run(["git", "-C", top, *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def make_build(
    outputs: Mapping[str, str | os.PathLike[str]],
    *,
    dataset_commits,
    parameters: Mapping[str, Any],
    inputs: Mapping[str, ArtifactRef],
    seeds: Mapping[str, int],
    libraries: list[str],
) -> BuildManifest:
    """The build manifest of ``outputs`` (artifact id -> file or folder, hashed here)."""
    return build_manifest(
        dataset_manifest_commits=dataset_commits,
        code_revision=code_revision(),
        outputs={artifact_id: artifact_commit(path) for artifact_id, path in outputs.items()},
        parameters={**parameters, "inputs": {role: ref.to_json() for role, ref in inputs.items()}},
        seeds=seeds,
        libraries=library_versions(libraries),
    )


def publish_outputs(
    build: BuildManifest,
    outputs: Mapping[str, str | os.PathLike[str]],
    *,
    home=None,
    key=None,
    issuer: str | None = None,
    new_version: bool = False,
) -> list[Publication]:
    """Publish every output under ``build``, all or none as far as Ctrl-C goes. Other bytes
    under an id that already has a version need ``new_version`` (the library refuses them
    otherwise, naming the version it has)."""
    options: dict[str, Any] = {} if issuer is None else {"issuer": issuer}
    with _interrupts_held():
        return [
            publish(path, build=build, artifact_id=artifact_id, home=home, key=key,
                    new_version=new_version, **options)
            for artifact_id, path in sorted(outputs.items())
        ]


def summary(build: BuildManifest, publications: list[Publication], **extra) -> dict[str, Any]:
    """The ``--json`` summary every pipeline prints."""
    return {
        "build_manifest_commit": str(commit_of(build)),
        "dataset_manifest_commits": [str(Commit(c)) for c in build.inputs.dataset_manifest_commits],
        "inputs": {role: {"artifact_id": ref["artifact_id"],
                          "artifact_commit": str(Commit(ref["artifact_commit"]))}
                   for role, ref in build.inputs.parameters["inputs"].items()},
        "artifacts": [p.to_json() for p in publications],
        **extra,
    }


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """SIGINT is recorded, not raised, until the block ends; then KeyboardInterrupt. A process
    that ignores SIGINT (a background job of a shell without job control) goes on ignoring it."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    ):
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: caught.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt

"""The two manifests that commitments are computed over.

Only what these models hold is committed: no clock, no host name, no absolute path, so the same
bytes give the same commit on every machine. Lists whose order carries no meaning must be given
in one canonical order (sorted, no duplicates) so that one content has one commit; the builders
in :mod:`receiptcore.commitments` sort for you, and validation rejects any other order.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal

from pydantic import Field, JsonValue, StringConstraints, field_validator

from receiptcore._core import CanonicalizationError, canonicalize
from receiptcore.contracts._base import (
    Count,
    Identifier,
    NonEmptyText,
    RelativePosixPath,
    SafeInt,
    SchemaVersion,
    Sha256Hex,
    StrictModel,
    check_sorted_unique_paths,
    check_uri,
)
from receiptcore.contracts.licenses import check_license

Version = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class FileEntry(StrictModel):
    """One file of a corpus."""

    path: RelativePosixPath = Field(description="Path relative to the corpus root, POSIX form.")
    size: Count = Field(description="Size in bytes.")
    sha256: Sha256Hex = Field(description="sha256 of the file's bytes, lowercase hex.")


class DatasetManifest(StrictModel):
    """The files of a corpus, where it came from, and under what terms it may be used.

    ``dataset_manifest_commit = sha256(JCS(manifest))``.
    """

    model_config = StrictModel.model_config | {
        "title": "DatasetManifest",
        "json_schema_extra": {"$comment": "dataset_manifest_commit = sha256(RFC8785(document))"},
    }

    kind: Literal["dataset_manifest"] = Field(description="Names the contract.")
    schema_version: SchemaVersion = Field(description="Major version of the contract.")
    name: Identifier = Field(description="The dataset's id, e.g. `support-docs`.")
    source: NonEmptyText = Field(
        description="Where the corpus came from: a URI (with a known scheme), a repository and "
        "revision, or a short description. Committed as given."
    )
    license: NonEmptyText = Field(
        description="The declared license: an SPDX license expression (`CC-BY-4.0`, "
        "`MIT OR Apache-2.0`; `LicenseRef-...` for a license SPDX does not list), or "
        "`proprietary`."
    )
    owner: NonEmptyText = Field(description="Who answers for the data (a team or a person).")
    files: list[FileEntry] = Field(
        description="Every file, sorted by path (Unicode code point order), each path once."
    )

    _sorted_unique_paths = field_validator("files")(check_sorted_unique_paths)

    @field_validator("license")
    @classmethod
    def _spdx(cls, license: str) -> str:
        return check_license(license)

    @field_validator("source")
    @classmethod
    def _uri_if_one(cls, source: str) -> str:
        return check_uri(source) if "://" in source else source


class BuildInputs(StrictModel):
    """Everything that shaped a build's output."""

    dataset_manifest_commits: list[Sha256Hex] = Field(
        description="Commits of the dataset manifests read, sorted, each once.",
        json_schema_extra={"uniqueItems": True},
    )
    code_revision: NonEmptyText = Field(
        description="The revision of the code that ran (a git commit id, or a tag)."
    )
    parameters: dict[str, JsonValue] = Field(
        description="Build parameters by name, any JSON value (model name, chunk size...). "
        "Numbers are IEEE doubles in canonical JSON: an integer beyond 2**53-1 cannot be "
        "committed; give it as a string."
    )
    seeds: dict[str, SafeInt] = Field(
        description="Random seeds by name (`python`, `numpy`, `torch`), within +/-(2**53-1): "
        "canonical JSON has no exact form for larger integers; give those as parameters, as strings."
    )
    libraries: dict[str, Version] = Field(
        description="Versions of the libraries that shaped the output, by distribution name."
    )

    @field_validator("parameters")
    @classmethod
    def _committable(cls, parameters: dict[str, JsonValue]) -> dict[str, JsonValue]:
        # The canonicalizer is the judge of what can be committed (no infinities, no integer
        # beyond what a double holds exactly): refuse here, naming the place, not at commit time.
        try:
            canonicalize(parameters)
        except CanonicalizationError as error:
            raise ValueError(str(error)) from None
        return parameters

    @field_validator("dataset_manifest_commits")
    @classmethod
    def _sorted_unique_commits(cls, commits: list[str]) -> list[str]:
        if commits != sorted(set(commits)):
            raise ValueError("commits must be sorted and unique")
        return commits


class BuildOutput(StrictModel):
    """One artifact a build produced."""

    artifact_id: Identifier = Field(description="The artifact's id.")
    artifact_commit: Sha256Hex = Field(description="sha256 of the artifact's bytes.")


class BuildManifest(StrictModel):
    """What a build read and what it wrote. ``build_manifest_commit = sha256(JCS(build))``."""

    model_config = StrictModel.model_config | {
        "title": "BuildManifest",
        "json_schema_extra": {"$comment": "build_manifest_commit = sha256(RFC8785(document))"},
    }

    kind: Literal["build_manifest"] = Field(description="Names the contract.")
    schema_version: SchemaVersion = Field(description="Major version of the contract.")
    inputs: BuildInputs
    outputs: list[BuildOutput] = Field(
        min_length=1, description="The artifacts produced, sorted by artifact_id, each id once."
    )

    @field_validator("outputs")
    @classmethod
    def _sorted_unique_ids(cls, outputs: list[BuildOutput]) -> list[BuildOutput]:
        for before, after in pairwise(outputs):
            if before.artifact_id >= after.artifact_id:
                raise ValueError(
                    f"outputs must be sorted by artifact_id, each once: {after.artifact_id!r} "
                    f"comes after {before.artifact_id!r}"
                )
        return outputs

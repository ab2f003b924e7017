"""The reference file: its place beside the asset, its one written form (RFC 8785 and a newline,
checked against the ``rfc8785`` package, which we did not write), and a strict reader."""

from __future__ import annotations

import json

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receiptcore.contracts import ArtifactReference, validate
from receiptcore.errors import SchemaError
from receiptcore.migrate.reference import (
    asset_path,
    read_reference,
    reference_path,
    write_reference,
)
from support.contract_examples import REFERENCE, fresh
from support.schemas import validator


def test_a_reference_sits_beside_its_asset_named_after_it():
    assert reference_path("models/encoder/").as_posix() == "models/encoder.artifact.json"
    assert reference_path("index.faiss").as_posix() == "index.faiss.artifact.json"
    assert asset_path("models/encoder.artifact.json").as_posix() == "models/encoder"
    with pytest.raises(ValueError, match="not a reference file"):
        asset_path("models/encoder.json")
    with pytest.raises(ValueError, match="not a reference file"):
        asset_path(".artifact.json")


def test_the_written_bytes_are_the_rfc8785_form_and_a_newline(tmp_path):
    reference = validate(ArtifactReference, fresh(REFERENCE))
    write_reference(tmp_path / "m.artifact.json", reference)
    data = (tmp_path / "m.artifact.json").read_bytes()
    assert data == rfc8785.dumps(REFERENCE) + b"\n"
    assert read_reference(tmp_path / "m.artifact.json") == reference
    validator("artifact_reference.schema.json").validate(json.loads(data))
    assert [p.name for p in tmp_path.iterdir()] == ["m.artifact.json"]  # no temporary left


refs = st.fixed_dictionaries({
    "kind": st.sampled_from(["file", "tree"]),
    "schema_version": st.just(1),
    "artifact_id": st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,40}\Z"),
    "artifact_commit": st.from_regex(r"\A[0-9a-f]{64}\Z"),
    "uri": st.text(min_size=1, max_size=60),
    "size": st.integers(0, 2**53 - 1),
    "files": st.integers(1, 2**53 - 1),
    "ledger_index": st.integers(0, 2**53 - 1),
})


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(refs)
def test_any_valid_reference_round_trips_byte_for_byte(document):
    reference = validate(ArtifactReference, document)
    from receiptcore.migrate.reference import reference_bytes

    assert reference_bytes(reference) == rfc8785.dumps(document) + b"\n"
    validator("artifact_reference.schema.json").validate(document)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(kind="folder"), "kind"),
        (lambda d: d.update(artifact_commit="sha256:" + "ab" * 32), "artifact_commit"),
        (lambda d: d.pop("uri"), "uri: required field is missing"),
        (lambda d: d.update(files=0), "files"),
        (lambda d: d.update(extra=1), "extra: unknown field"),
    ],
)
def test_a_reference_that_breaks_the_contract_is_refused_naming_the_field(tmp_path, change, message):
    document = fresh(REFERENCE)
    change(document)
    (tmp_path / "m.artifact.json").write_bytes(json.dumps(document).encode())
    with pytest.raises(SchemaError, match=message):
        read_reference(tmp_path / "m.artifact.json")


def test_a_reference_reformatted_by_hand_is_refused(tmp_path):
    (tmp_path / "m.artifact.json").write_text(json.dumps(REFERENCE, indent=2))
    with pytest.raises(SchemaError, match="not in its written form"):
        read_reference(tmp_path / "m.artifact.json")
    (tmp_path / "m.artifact.json").write_text(json.dumps(REFERENCE, indent=2).replace("41", "41.0"))
    with pytest.raises(SchemaError, match="ledger_index"):
        read_reference(tmp_path / "m.artifact.json")

"""Commitments: every commit recomputed by an independent path (the rfc8785 package and
hashlib) gives the same value; manifests are deterministic for the same bytes."""

from __future__ import annotations

import hashlib
import os

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receiptcore.commitments import (
    artifact_commit,
    build_manifest,
    build_manifest_commit,
    commit_of,
    dataset_manifest,
    dataset_manifest_commit,
    library_versions,
    list_corpus,
    read_manifest,
    read_manifest_of,
)
from receiptcore.contracts import BuildManifest, DatasetManifest
from receiptcore.errors import SchemaError

TERMS = {"source": "s3://corpora/x@1", "license": "CC-BY-4.0", "owner": "data-team"}


def independent_commit(document: dict) -> str:
    return hashlib.sha256(rfc8785.dumps(document)).hexdigest()


def write_tree(root, files: dict[str, bytes]) -> None:
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_dataset_manifest_lists_every_file_sorted_with_size_and_sha256(tmp_path):
    files = {"b.txt": b"bee", "a/z.bin": b"\x00" * 1000, "a/.hidden": b"", "\u00e9t\u00e9.md": b"summer"}
    write_tree(tmp_path, files)
    manifest = dataset_manifest(tmp_path, name="corpus", **TERMS)
    assert [f.path for f in manifest.files] == ["a/.hidden", "a/z.bin", "b.txt", "\u00e9t\u00e9.md"]
    for entry in manifest.files:
        assert entry.size == len(files[entry.path])
        assert entry.sha256 == hashlib.sha256(files[entry.path]).hexdigest()
    assert (manifest.source, manifest.license, manifest.owner) == (TERMS["source"], TERMS["license"], TERMS["owner"])


def test_dataset_commit_equals_rfc8785_plus_hashlib(tmp_path):
    write_tree(tmp_path, {"x/y.txt": b"1", "w": b"2"})
    manifest = dataset_manifest(tmp_path, name="corpus", **TERMS)
    assert dataset_manifest_commit(manifest).hex == independent_commit(manifest.to_json_obj())


def test_dataset_commit_depends_on_bytes_not_on_clock_host_or_creation_order(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    write_tree(one, {"a": b"A", "d/b": b"B", "d/c": b"C"})
    write_tree(two, {"d/c": b"C", "d/b": b"B", "a": b"A"})  # other order
    os.utime(two / "a", (1, 1))  # other mtime
    first = commit_of(dataset_manifest(one, name="corpus", **TERMS))
    assert first == commit_of(dataset_manifest(two, name="corpus", **TERMS))
    assert first == commit_of(dataset_manifest(one, name="corpus", **TERMS, threads=1))
    (two / "d" / "b").write_bytes(b"b")
    assert first != commit_of(dataset_manifest(two, name="corpus", **TERMS))


def test_declared_terms_are_part_of_the_commit(tmp_path):
    write_tree(tmp_path, {"a": b"A"})
    base = commit_of(dataset_manifest(tmp_path, name="corpus", **TERMS))
    other = commit_of(dataset_manifest(tmp_path, name="corpus", **{**TERMS, "license": "MIT"}))
    assert base != other


def test_a_symlinked_file_is_followed_and_a_symlinked_directory_refused(tmp_path):
    corpus = tmp_path / "corpus"
    write_tree(corpus, {"real.txt": b"data"})
    (corpus / "link.txt").symlink_to(corpus / "real.txt")
    manifest = dataset_manifest(corpus, name="c", **TERMS)
    assert [(f.path, f.size) for f in manifest.files] == [("link.txt", 4), ("real.txt", 4)]
    (corpus / "dirlink").symlink_to(tmp_path)
    with pytest.raises(ValueError, match="symlink to a directory"):
        list_corpus(corpus)


def test_special_files_are_an_error_not_a_skip(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ValueError, match="not a regular file"):
        list_corpus(tmp_path)


def test_a_missing_or_non_directory_root_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        list_corpus(tmp_path / "absent")
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        list_corpus(tmp_path / "f")


def test_a_file_name_that_is_not_utf8_is_refused(tmp_path):
    (tmp_path / os.fsdecode(b"caf\xe9.txt")).write_bytes(b"latin-1 name")
    with pytest.raises(ValueError, match="not valid UTF-8"):
        list_corpus(tmp_path)


@pytest.mark.parametrize("value", [2**53 + 1, [1, {"seed": -(2**60) - 1}], float("inf")])
def test_parameters_without_a_canonical_form_are_refused_when_built(value):
    with pytest.raises(SchemaError, match=r"inputs\.parameters: .*JSON pointer"):
        build_manifest(dataset_manifest_commits=[], code_revision="r", outputs={"a": "00" * 32},
                       parameters={"p": value})


def test_a_file_name_the_contract_refuses_is_a_schema_error(tmp_path):
    write_tree(tmp_path, {"back\\slash": b""})
    with pytest.raises(SchemaError, match=r"files\[0\]\.path"):
        dataset_manifest(tmp_path, name="c", **TERMS)


NAME = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\\x00"),
    min_size=1, max_size=12,
).filter(lambda s: s not in (".", ".."))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.dictionaries(NAME, st.binary(max_size=64), min_size=1, max_size=6))
def test_property_dataset_commit_matches_independent_recomputation(tmp_path_factory, files):
    root = tmp_path_factory.mktemp("corpus")
    try:
        write_tree(root, files)
    except OSError:
        return  # a name this file system refuses (too long in bytes): nothing to test
    manifest = dataset_manifest(root, name="c", **TERMS)
    assert sorted(f.path for f in manifest.files) == [f.path for f in manifest.files]
    expected_files = [
        {"path": p, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for p, d in sorted(files.items())
    ]
    document = {"kind": "dataset_manifest", "schema_version": 1, "name": "c", **TERMS, "files": expected_files}
    assert commit_of(manifest).hex == independent_commit(document)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(
    parameters=st.dictionaries(st.text(max_size=8), JSON, max_size=4),
    seeds=st.dictionaries(st.text(min_size=1, max_size=6), st.integers(0, 2**32)),
    revision=st.text(min_size=1, max_size=20),
)
def test_property_build_commit_matches_independent_recomputation(parameters, seeds, revision):
    manifest = build_manifest(
        dataset_manifest_commits=["ab" * 32],
        code_revision=revision,
        parameters=parameters,
        seeds=seeds,
        libraries={"numpy": "2.1.0"},
        outputs={"idx": "cd" * 32},
    )
    assert build_manifest_commit(manifest).hex == independent_commit(manifest.to_json_obj())
    assert manifest.to_json_obj()["inputs"]["parameters"] == parameters


def test_build_manifest_puts_lists_in_canonical_order():
    a, b = "aa" * 32, "bb" * 32
    one = build_manifest(dataset_manifest_commits=[b, a, b], code_revision="r", outputs={"y": a, "x": b})
    two = build_manifest(dataset_manifest_commits=[a, b], code_revision="r", outputs={"x": b, "y": a})
    assert one == two
    assert one.inputs.dataset_manifest_commits == [a, b]
    assert [o.artifact_id for o in one.outputs] == ["x", "y"]


def test_artifact_commit_is_sha256_of_the_bytes(tmp_path):
    data = os.urandom(3 << 20)
    (tmp_path / "w.bin").write_bytes(data)
    assert artifact_commit(tmp_path / "w.bin").hex == hashlib.sha256(data).hexdigest()


def test_library_versions_come_from_the_installed_distributions():
    import pydantic

    assert library_versions(["pydantic"]) == {"pydantic": pydantic.VERSION}
    with pytest.raises(ValueError, match="not installed"):
        library_versions(["no-such-distribution-xyz"])


def test_manifest_files_round_trip_and_keep_their_commit(tmp_path):
    write_tree(tmp_path / "c", {"a": b"A"})
    dataset = dataset_manifest(tmp_path / "c", name="c", **TERMS)
    (tmp_path / "d.json").write_bytes(dataset.to_json_bytes())
    assert read_manifest(tmp_path / "d.json") == dataset
    assert commit_of(read_manifest_of(tmp_path / "d.json", DatasetManifest)) == commit_of(dataset)
    with pytest.raises(SchemaError, match="kind: expected 'build_manifest'"):
        read_manifest_of(tmp_path / "d.json", BuildManifest)


def test_a_manifest_of_unknown_kind_is_refused(tmp_path):
    (tmp_path / "m.json").write_text('{"kind": "recipe"}')
    with pytest.raises(SchemaError, match="kind: expected 'dataset_manifest' or 'build_manifest'"):
        read_manifest(tmp_path / "m.json")

"""sniff() recognises weights, tensor data and vector indexes by content, whatever the name.

Every sample is written at test time by the format's own library (see samples.py); each is
also sniffed as bytes and under an innocent name, and benign look-alikes must give None.
"""

from __future__ import annotations

import pickle
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receiptcore import ReceiptcoreError, Sniff, sniff
from support import samples
from support.paths import REPO

WRITERS = {
    "safetensors": (samples.safetensors_file, "safetensors", "weights"),
    "torch_zip": (samples.torch_zip, "torch_zip", "weights"),
    "lightning_ckpt": (samples.torch_lightning_style_ckpt, "torch_zip", "weights"),
    "torch_legacy": (samples.torch_legacy, "torch_legacy", "weights"),
    "pickle2": (lambda d: samples.raw_pickle(d, 2), "pickle", "pickle"),
    "pickle3": (lambda d: samples.raw_pickle(d, 3), "pickle", "pickle"),
    "pickle4": (lambda d: samples.raw_pickle(d, 4), "pickle", "pickle"),
    "pickle5": (lambda d: samples.raw_pickle(d, 5), "pickle", "pickle"),
    "numpy_pickle": (samples.numpy_pickle, "pickle", "tensor_data"),
    "joblib": (samples.joblib_dump, "joblib", "weights"),
    "npy": (samples.npy, "npy", "tensor_data"),
    "npz": (samples.npz, "npz", "tensor_data"),
    "npz_compressed": (lambda d: samples.npz(d, True), "npz", "tensor_data"),
    "gguf": (samples.gguf_file, "gguf", "weights"),
    "onnx": (samples.onnx_model, "onnx", "weights"),
    "hdf5": (samples.hdf5_file, "hdf5", "tensor_data"),
    "hdf5_userblock_512": (lambda d: samples.hdf5_file(d, 512), "hdf5", "tensor_data"),
    "hdf5_userblock_8192": (lambda d: samples.hdf5_file(d, 8192), "hdf5", "tensor_data"),
    "keras_h5": (samples.keras_style_h5, "keras_h5", "weights"),
    "usearch_with_vectors": (samples.usearch_index, "usearch", "vector_index"),
    "usearch_graph_only": (lambda d: samples.usearch_index(d, False), "usearch", "vector_index"),
    "hnswlib": (samples.hnswlib_index, "hnswlib", "vector_index"),
    "tflite": (samples.tflite_model, "tflite", "weights"),
}


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_real_writer_output_is_recognised_by_path_bytes_and_under_any_name(name, tmp_path):
    write, fmt, family = WRITERS[name]
    path = write(tmp_path)
    found = sniff(path)
    assert found is not None, name
    assert (found.format, found.family) == (fmt, family)
    assert found.evidence
    assert sniff(str(path)) == found
    assert sniff(path.read_bytes()) == found
    innocent = tmp_path / "innocent.txt"
    shutil.copy(path, innocent)
    assert sniff(innocent) == found


def test_every_faiss_index_class_written_is_recognised(tmp_path):
    for path in samples.faiss_indexes(tmp_path):
        found = sniff(path)
        assert found is not None and found.format == "faiss", path.name
        assert found.family == "vector_index"
        shutil.copy(path, tmp_path / "renamed.dat")
        assert sniff(tmp_path / "renamed.dat") == found


def test_benign_look_alikes_are_not_flagged(tmp_path):
    for path in samples.benign_files(tmp_path):
        assert sniff(path) is None, path.name
        assert sniff(path.read_bytes()) is None, path.name


def test_this_projects_own_sources_are_not_flagged():
    root = REPO
    for path in [*root.glob("rust/src/**/*.rs"), *root.glob("python/**/*.py")]:
        assert sniff(path) is None, path


def test_first_4_kib_of_a_torch_checkpoint_is_enough(tmp_path):
    data = samples.torch_zip(tmp_path).read_bytes()
    assert sniff(data[:4096]).format == "torch_zip"


def test_pickle_is_checked_by_opcodes_not_by_its_first_two_bytes():
    good = pickle.dumps({"a": [1, 2, 3]}, protocol=4)
    assert sniff(good).format == "pickle"
    assert sniff(good[:2] + b"hello, world") is None
    assert sniff(b"\x80\x05" + b"print('not a pickle')\n" * 20) is None


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200),
)
def test_prose_after_a_pickle_proto_header_is_never_flagged(word, rest):
    # (Some printable strings ARE pickles: b"\x80\x02)." is an empty tuple. Prose starts with
    # a word, and no lowercase opcode can run on an empty stack.)
    for proto in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05"):
        assert sniff(proto + (word + " " + rest).encode()) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_crash(data):
    found = sniff(data)
    assert found is None or found.family in {
        "weights", "tensor_data", "vector_index", "dataset", "pickle", "lfs_pointer",
        "private_key", "opaque"}


def test_sniff_accepts_bytearray_and_memoryview(tmp_path):
    data = samples.npy(tmp_path).read_bytes()
    assert sniff(bytearray(data)).format == "npy"
    assert sniff(memoryview(data)).format == "npy"


def test_missing_path_raises_file_not_found_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        sniff(tmp_path / "nope.bin")
    assert err.value.filename == str(tmp_path / "nope.bin")
    assert not isinstance(err.value, ReceiptcoreError)


def test_a_plain_directory_is_nothing(tmp_path):
    assert sniff(tmp_path) is None


def test_sniff_objects_are_frozen_values(tmp_path):
    a = sniff(samples.npy(tmp_path))
    b = sniff(tmp_path / "x.npy")
    assert isinstance(a, Sniff)
    assert a == b and hash(a) == hash(b)
    assert repr(a).startswith('Sniff(format="npy", family="tensor_data", evidence=')
    with pytest.raises(AttributeError):
        a.format = "x"


@pytest.mark.parametrize("method", ["zlib", "gzip"])
def test_compressed_joblib_dumps_are_inflated_and_recognised(method, tmp_path):
    path = samples.joblib_compressed(tmp_path, method)
    found = sniff(path)
    assert found is not None and found.format == "joblib"
    assert found.evidence.startswith(f"{method} stream")


def test_chroma_persistent_directory_and_its_files_are_recognised(tmp_path):
    root = samples.chroma_dir(tmp_path)
    assert sniff(root).format == "chroma"
    assert sniff(root / "chroma.sqlite3").format == "chroma"
    headers = list(root.glob("*/header.bin"))
    assert headers, "chromadb wrote no hnsw segment"
    assert sniff(headers[0]).format == "chroma_hnsw"
    assert {sniff(h).family for h in headers} == {"vector_index"}


def test_lance_dataset_directory_and_files_are_recognised(tmp_path):
    root = samples.lance_dataset(tmp_path)
    assert sniff(root).format == "lance"
    files = [*root.glob("data/*.lance"), *root.glob("_versions/*.manifest")]
    assert len(files) >= 2
    for f in files:
        assert sniff(f).format == "lance", f.name


def test_an_ordinary_sqlite_database_is_not_chroma(tmp_path):
    import sqlite3

    db = sqlite3.connect(tmp_path / "app.db")
    db.execute("create table users (id integer primary key, name text)")
    db.commit()
    db.close()
    assert sniff(tmp_path / "app.db") is None

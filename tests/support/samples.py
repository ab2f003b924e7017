"""Writers of real samples for the sniff and walk tests: each function writes one file (or
folder) with the format's own library, at test time, and returns its path."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np


def safetensors_file(d: Path) -> Path:
    from safetensors.numpy import save_file

    p = d / "model.safetensors"
    save_file({"w": np.ones((3, 4), np.float32), "b": np.zeros(4, np.float16)}, str(p))
    return p


def torch_zip(d: Path) -> Path:
    import torch

    p = d / "model.pt"
    torch.save({"w": torch.ones(3, 4), "step": 7}, p)
    return p


def torch_lightning_style_ckpt(d: Path) -> Path:
    """What Lightning's `.ckpt` is: `torch.save` of a dict holding a state_dict."""
    import torch

    p = d / "epoch=1.ckpt"
    net = torch.nn.Linear(4, 2)
    torch.save({"state_dict": net.state_dict(), "epoch": 1, "pytorch-lightning_version": "2"}, p)
    return p


def torch_legacy(d: Path) -> Path:
    import torch

    p = d / "old.pth"
    torch.save({"w": torch.ones(2)}, p, _use_new_zipfile_serialization=False)
    return p


def raw_pickle(d: Path, protocol: int) -> Path:
    p = d / f"state{protocol}.pkl"
    obj = {"weights": [0.5] * 100, "names": ["a", "b"], "nested": {"k": (1, 2, None)}}
    p.write_bytes(pickle.dumps(obj, protocol=protocol))
    return p


def compressed_pickles(d: Path) -> list[Path]:
    """A pickle behind bz2, xz and legacy lzma, the streams gzip is not the only one of."""
    import bz2
    import lzma

    data = raw_pickle(d, 2).read_bytes()
    out = [d / "state.pkl.bz2", d / "state.pkl.xz", d / "state.pkl.lzma"]
    out[0].write_bytes(bz2.compress(data))
    out[1].write_bytes(lzma.compress(data))
    out[2].write_bytes(lzma.compress(data, format=lzma.FORMAT_ALONE))
    return out


def numpy_pickle(d: Path) -> Path:
    p = d / "arrays.pkl"
    p.write_bytes(pickle.dumps({"x": np.arange(1000, dtype=np.float32)}, protocol=5))
    return p


def joblib_dump(d: Path) -> Path:
    import joblib

    p = d / "model.joblib"
    joblib.dump({"coef": np.arange(50, dtype=np.float64), "name": "ridge"}, p)
    return p


def npy(d: Path) -> Path:
    p = d / "x.npy"
    np.save(p, np.arange(12, dtype=np.int32).reshape(3, 4))
    return p


def npz(d: Path, compressed: bool = False) -> Path:
    p = d / ("xc.npz" if compressed else "x.npz")
    (np.savez_compressed if compressed else np.savez)(p, a=np.ones(3), b=np.zeros((2, 2)))
    return p


def gguf_file(d: Path) -> Path:
    import gguf

    p = d / "tiny.gguf"
    w = gguf.GGUFWriter(str(p), "llama")
    w.add_block_count(1)
    w.add_tensor("tok_embd", np.ones((4, 8), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return p


def onnx_model(d: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((4, 2), np.float32), name="W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"])],
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 2])],
        initializer=[w],
    )
    model = helper.make_model(graph, producer_name="receiptcore-tests")
    onnx.checker.check_model(model)
    p = d / "model.onnx"
    onnx.save(model, p)
    return p


def hdf5_file(d: Path, userblock: int = 0) -> Path:
    import h5py

    p = d / f"data{userblock}.h5"
    with h5py.File(p, "w", userblock_size=userblock) as f:
        f["x"] = np.arange(10.0)
    return p


def keras_style_h5(d: Path) -> Path:
    """The root attributes Keras writes into a full-model `.h5` (keras itself is not installed)."""
    import h5py

    p = d / "model.h5"
    with h5py.File(p, "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = '{"class_name": "Sequential"}'
        f.create_group("model_weights")["dense/kernel:0"] = np.ones((4, 2), np.float32)
    return p


def faiss_indexes(d: Path) -> list[Path]:
    """One file per index class, float and binary, as faiss.write_index writes them."""
    import faiss

    rng = np.random.default_rng(0)
    x = rng.random((300, 16), dtype=np.float32)
    factories = ["Flat", "IVF4,Flat", "PQ4", "IVF4,PQ4", "HNSW8", "SQ8", "IVF4,SQ8", "LSH",
                 "PCA8,Flat", "IDMap,Flat", "IVF4,PQ4x4fs", "RQ2x4", "NSG8,Flat"]
    out = []
    for i, spec in enumerate(factories):
        index = faiss.index_factory(16, spec)
        index.train(x)
        if "IDMap" in spec:
            index.add_with_ids(x, np.arange(len(x)))
        else:
            index.add(x)
        p = d / f"faiss{i}.index"
        faiss.write_index(index, str(p))
        out.append(p)
    newer = ["RaBitQ", "IVF4,RaBitQ", "IVF4,RaBitQfs", "RaBitQfs"]  # faiss >= 1.12
    if hasattr(faiss, "IndexRaBitQ"):
        for i, spec in enumerate(newer):
            index = faiss.index_factory(16, spec)
            index.train(x)
            index.add(x)
            p = d / f"faiss_new{i}.index"
            faiss.write_index(index, str(p))
            out.append(p)
    for name, make in [("IndexHNSWFlatPanorama", lambda c: c(16, 8, 4)),
                       ("IndexHNSWCagra", lambda c: c(16, 8))]:
        if hasattr(faiss, name):
            index = make(getattr(faiss, name))
            index.add(x)
            faiss.write_index(index, str(d / f"{name}.index"))
            out.append(d / f"{name}.index")
    xb = rng.integers(0, 255, (200, 4), dtype=np.uint8)
    quant = faiss.IndexBinaryFlat(32)
    for i, index in enumerate([faiss.IndexBinaryFlat(32), faiss.IndexBinaryHNSW(32, 8),
                               faiss.IndexBinaryIVF(quant, 32, 2),
                               *([faiss.IndexBinaryHNSWCagra(32, 8)]
                                 if hasattr(faiss, "IndexBinaryHNSWCagra") else [])]):
        index.train(xb)
        index.add(xb)
        p = d / f"faiss_bin{i}.index"
        faiss.write_index_binary(index, str(p))
        out.append(p)
    return out


def usearch_index(d: Path, with_vectors: bool = True) -> Path:
    from usearch.index import Index

    index = Index(ndim=8, metric="cos")
    index.add(np.arange(20), np.random.default_rng(0).random((20, 8), dtype=np.float32))
    p = d / ("u.usearch" if with_vectors else "u_view.usearch")
    if with_vectors:
        index.save(str(p))
    else:
        # The graph alone: usearch's index_dense saves without the vectors via save_to_stream?
        # The Python API writes the same layout as save(); use the bytes API and strip the
        # vectors it puts in front (rows u32, bytes-per-row u32, matrix).
        data = index.save()
        rows, row_bytes = np.frombuffer(data[:8], dtype=np.uint32)
        p.write_bytes(bytes(data[8 + int(rows) * int(row_bytes):]))
    return p


def hnswlib_index(d: Path) -> Path:
    import hnswlib

    index = hnswlib.Index(space="l2", dim=8)
    index.init_index(max_elements=50, ef_construction=50, M=8)
    index.add_items(np.random.default_rng(0).random((20, 8), dtype=np.float32))
    p = d / "graph.bin"
    index.save_index(str(p))
    return p


def tflite_model(d: Path) -> Path:
    """A minimal TFLite flatbuffer built with the `tflite` package's generated builders."""
    import flatbuffers
    import tflite

    b = flatbuffers.Builder(256)
    desc = b.CreateString("receiptcore test")
    tflite.ModelStartSubgraphsVector(b, 0)
    subgraphs = b.EndVector()
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddDescription(b, desc)
    tflite.ModelAddSubgraphs(b, subgraphs)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    p = d / "model.tflite"
    p.write_bytes(bytes(b.Output()))
    return p


def plain_zip(d: Path) -> Path:
    p = d / "docs.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("README.md", "# hello\n")
        z.writestr("src/main.py", "print('hi')\n")
        z.writestr("data.pkl.txt", "not a pickle\n")
    return p


def benign_files(d: Path) -> list[Path]:
    """Look-alikes that must all give None."""
    files = {
        "proto4.txt": b"\x80\x04hello world, this file only starts like a pickle\n",
        "proto2.txt": b"\x80\x02)))) tuples?\n",
        "image.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
        + bytes(64),
        "paper.pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        "main.rs": b"fn main() {\n    println!(\"GGUF IxFl usearch LANC\");\n}\n",
        "util.py": b"import numpy as np\n\ndef f(x):\n    return np.save('x.npy', x)\n",
        "notes.md": b"# GGUF\nA file format. PK\x03\x04 is the zip magic.\n",
        "empty": b"",
        "eight.bin": (100).to_bytes(8, "little") + b"{not json at all" + bytes(84),
        "onnxish.bin": b"\x08\x07 not a protobuf model",
        "mostly_zero.bin": bytes(4096 * 3),
    }
    out = []
    for name, data in files.items():
        (d / name).write_bytes(data)
        out.append(d / name)
    out.append(plain_zip(d))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("notes.txt", "x")
    (d / "empty_dir_zip.zip").write_bytes(buf.getvalue())
    out.append(d / "empty_dir_zip.zip")
    return out


def joblib_compressed(d: Path, method: str) -> Path:
    import joblib

    p = d / f"model_{method}.joblib"
    joblib.dump({"coef": np.arange(500, dtype=np.float64), "name": "ridge"}, p, compress=(method, 3))
    return p


def chroma_dir(d: Path) -> Path:
    import chromadb
    from chromadb.config import Settings

    p = d / "chroma"
    client = chromadb.PersistentClient(path=str(p), settings=Settings(anonymized_telemetry=False))
    collection = client.create_collection("docs")
    rng = np.random.default_rng(0)
    collection.add(ids=[f"id{i}" for i in range(20)], embeddings=rng.random((20, 8)).tolist())
    del collection, client
    return p


def lance_dataset(d: Path) -> Path:
    import lance
    import pyarrow as pa

    p = d / "vectors.lance"
    table = pa.table({"id": [1, 2, 3], "vector": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]})
    lance.write_dataset(table, str(p))
    return p


def datasets(d: Path) -> dict[str, Path]:
    """One table in every dataset format the gate knows by content, each by its own writer:
    ``{format: path}``."""
    import fastavro
    import lmdb
    import pyarrow as pa
    import pyarrow.parquet as pq
    import tfrecord
    import webdataset
    from pyarrow import feather, orc

    table = pa.table({"x": list(range(100)), "s": ["a"] * 100})
    out = {f: d / name for f, name in [
        ("parquet", "t.parquet"), ("arrow", "t.feather"), ("feather", "v1.feather"),
        ("orc", "t.orc"), ("arrow_stream", "t.arrows"), ("avro", "t.avro"),
        ("tfrecord", "t.tfrecord"), ("lmdb", "db/data.mdb"), ("webdataset", "shard.tar")]}
    pq.write_table(table, out["parquet"])
    feather.write_feather(table, out["arrow"])
    feather.write_feather(table, out["feather"], version=1)
    orc.write_table(table, out["orc"])
    with pa.ipc.new_stream(out["arrow_stream"], table.schema) as w:
        w.write_table(table)
    schema = {"type": "record", "name": "R", "fields": [{"name": "x", "type": "int"}]}
    with open(out["avro"], "wb") as f:
        fastavro.writer(f, schema, [{"x": i} for i in range(10)])
    writer = tfrecord.TFRecordWriter(str(out["tfrecord"]))
    writer.write({"x": (b"hello", "byte")})
    writer.close()
    env = lmdb.open(str(d / "db"), map_size=1 << 20)
    with env.begin(write=True) as txn:
        txn.put(b"k", b"v")
    env.close()
    with webdataset.TarWriter(str(out["webdataset"])) as sink:
        for i in range(3):
            sink.write({"__key__": f"{i:06d}", "txt": f"sample {i}", "cls": str(i)})
    return out


def wrapped_safetensors(d: Path) -> list[Path]:
    """Weights inside the wrappers the gate looks into: a zip, a tar, gzip and zstd."""
    import gzip
    import tarfile

    import zstandard

    weights = safetensors_file(d).read_bytes()
    with zipfile.ZipFile(d / "weights.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("model/model.safetensors", weights)
    with tarfile.open(d / "weights.tar", "w") as t:
        info = tarfile.TarInfo("model.safetensors")
        info.size = len(weights)
        t.addfile(info, io.BytesIO(weights))
    (d / "weights.safetensors.gz").write_bytes(gzip.compress(weights))
    (d / "weights.safetensors.zst").write_bytes(zstandard.ZstdCompressor().compress(weights))
    return [d / n for n in ("weights.zip", "weights.tar", "weights.safetensors.gz",
                            "weights.safetensors.zst")]


def lfs_pointer(d: Path) -> Path:
    p = d / "model.safetensors"
    p.write_text(f"version https://git-lfs.github.com/spec/v1\noid sha256:{'ab' * 32}\n"
                 "size 360448\n")
    return p


def private_keys(d: Path) -> dict[str, list[Path]]:
    """An Ed25519 key as PKCS#8 PEM, OpenSSH's own format and PKCS#8 DER: ``{format: files}``."""
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    out: dict[str, list[Path]] = {"pem_key": [], "der_key": []}
    for fmt, name, enc, form in (
            ("pem_key", "key.pem", s.Encoding.PEM, s.PrivateFormat.PKCS8),
            ("pem_key", "id_ed25519", s.Encoding.PEM, s.PrivateFormat.OpenSSH),
            ("der_key", "key.der", s.Encoding.DER, s.PrivateFormat.PKCS8)):
        (d / name).write_bytes(key.private_bytes(enc, form, s.NoEncryption()))
        out[fmt].append(d / name)
    return out

"""Real samples for the Rust fuzzers (rust/tests/fuzz/), written by each format's own library.

    python tests/support/fuzz_seeds.py DIR

writes ``DIR/sniff/<format>.<label>`` (a file that sniffs as ``<format>``; ``none.*`` sniffs as
nothing), ``DIR/sniff-dirs/<format>/`` (a store folder) and ``DIR/json/<name>.json`` (contract
documents as receiptcore writes them). ``make test`` runs it before ``cargo test`` and points
``RECEIPTCORE_FUZZ_SEEDS`` at DIR. A new format is one line in :data:`FILES`, :data:`MIXED` or :data:`DIRS`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from support import samples
from support.contract_examples import DOCUMENTS

Writer = Callable[[Path], "Path | list[Path]"]

FILES: list[tuple[str, Writer]] = [
    ("safetensors", samples.safetensors_file),
    ("torch_zip", samples.torch_zip),
    ("torch_zip", samples.torch_lightning_style_ckpt),
    ("torch_legacy", samples.torch_legacy),
    ("pickle", lambda d: samples.raw_pickle(d, 2)),
    ("pickle", lambda d: samples.raw_pickle(d, 5)),
    ("pickle", lambda d: samples.raw_pickle(d, 0)),
    ("pickle", samples.compressed_pickles),
    ("pickle", samples.numpy_pickle),
    ("joblib", samples.joblib_dump),
    ("joblib", lambda d: samples.joblib_compressed(d, "zlib")),
    ("joblib", lambda d: samples.joblib_compressed(d, "gzip")),
    ("npy", samples.npy),
    ("npz", samples.npz),
    ("npz", lambda d: samples.npz(d, compressed=True)),
    ("gguf", samples.gguf_file),
    ("onnx", samples.onnx_model),
    ("hdf5", samples.hdf5_file),
    ("hdf5", lambda d: samples.hdf5_file(d, userblock=512)),
    ("keras_h5", samples.keras_style_h5),
    ("faiss", lambda d: samples.faiss_indexes(d)[:4]),
    ("usearch", samples.usearch_index),
    ("usearch", lambda d: samples.usearch_index(d, with_vectors=False)),
    ("hnswlib", samples.hnswlib_index),
    ("tflite", samples.tflite_model),
    ("safetensors", samples.wrapped_safetensors),
    ("lfs_pointer", samples.lfs_pointer),
    ("none", samples.benign_files),
]
"""``(format it sniffs as, writer)``: each writer makes one file or a list of them in a folder."""

MIXED: list[Callable[[Path], dict[str, Path | list[Path]]]] = [
    samples.datasets,
    samples.private_keys,
]
"""Writers of several formats at once, ``{format: file}``."""

DIRS: list[tuple[str, Writer]] = [
    ("chroma", samples.chroma_dir),
    ("lance", samples.lance_dataset),
]
"""``(format, writer of a store folder)``."""


def json_documents() -> dict[str, bytes]:
    """Every contract's example, and a receipt, trust file and manifests made by receiptcore."""
    from receiptcore.commitments import build_manifest
    from receiptcore.signing.keys import SigningKey
    from receiptcore.signing.receipts import envelope_bytes, sign_receipt
    from receiptcore.signing.trust import Trust, _model

    out = {name.replace("/", "_"): json.dumps(doc, indent=1).encode() for name, doc in DOCUMENTS.items()}
    key = SigningKey.generate()
    build = build_manifest(dataset_manifest_commits=["ab" * 32], code_revision="9f2c1e7",
                           outputs={"index": "cd" * 32}, parameters={"k": [1, 2.5, "x"]})
    out["build"] = build.to_json_bytes()
    out["envelope"] = envelope_bytes(
        sign_receipt("index", "cd" * 32, "s3://m/i", "ab" * 32, [], key, issuer="ci")
    )
    trust = Trust.of((key.public_key, "ci"))
    out["trust"] = _model(*trust.entries()).to_json_bytes()
    return out


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The writers' native cores (faiss) talk on file descriptor 2: hush them while they write."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def write(dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    for part in ("sniff", "sniff-dirs", "json"):
        (dest / part).mkdir(parents=True)
    with tempfile.TemporaryDirectory() as scratch, _quiet():
        for n, (fmt, writer) in enumerate(FILES):
            made = writer(Path(scratch))
            for m, path in enumerate(made if isinstance(made, list) else [made]):
                shutil.copyfile(path, dest / "sniff" / f"{fmt}.{n}-{m}-{path.name}")
        for n, writer in enumerate(MIXED, start=len(FILES)):
            for fmt, made in writer(Path(scratch)).items():
                for m, path in enumerate(made if isinstance(made, list) else [made]):
                    shutil.copyfile(path, dest / "sniff" / f"{fmt}.{n}-{m}-{path.name}")
        for fmt, writer in DIRS:
            shutil.copytree(writer(Path(scratch)), dest / "sniff-dirs" / fmt)
    for name, data in json_documents().items():
        (dest / "json" / f"{name}.json").write_bytes(data)


if __name__ == "__main__":
    write(Path(sys.argv[1]))

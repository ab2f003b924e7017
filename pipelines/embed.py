"""``receiptcore pipeline embed``: a corpus folder -> embeddings and a chunk table, published.

1. the dataset manifest of the folder (every file hashed, in parallel, by the library);
2. the documents (:mod:`pipelines.corpus`; refused or skipped files as documented there), each
   read once and checked against the manifest;
3. the model: verified (and published once, for the packaged MiniLM: :mod:`pipelines.model`);
4. chunks of the model's own tokens (:mod:`pipelines.chunking`);
5. embeddings with sentence-transformers, in the order and batches its own ``encode`` would use
   (longest first), each batch written to its rows on disk (:mod:`pipelines.formats`);
6. one build manifest (parameters, library versions, code revision, the model's commit as an
   input, the dataset manifest's commit), then ``<ID>.embeddings`` and ``<ID>.chunks`` published.

Nothing is published before every output is complete; a failure or Ctrl-C before then leaves
the store and ledger as they were (but for the model, a complete artifact of its own).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.chunking import check_window, chunk_documents, load_tokenizer
from pipelines.corpus import JSONL_SUFFIXES, TEXT_SUFFIXES, read_documents
from pipelines.formats import EmbeddingsWriter, chunk_rows, write_chunk_table
from pipelines.model import dimension_of, load_model, resolve_model
from pipelines.provenance import make_build, publish_outputs, summary
from pipelines.refs import ArtifactRef
from receiptcore.commitments import commit_of, dataset_manifest, list_corpus
from receiptcore.contracts import BuildManifest, BuildOutput, validate
from receiptcore.errors import CorpusError
from receiptcore.publish import Publication, store_manifest
from receiptcore.util.progress import count_progress

LIBRARIES = ["receiptcore", "sentence-transformers", "transformers", "tokenizers", "torch",
             "numpy"]


@dataclass
class EmbedResult:
    build: BuildManifest
    publications: list[Publication]
    chunks: int
    dimension: int
    skipped: list[str] = field(default_factory=list)

    def embeddings(self) -> ArtifactRef:
        return _ref(self.publications, ".embeddings")

    def chunk_table(self) -> ArtifactRef:
        return _ref(self.publications, ".chunks")

    def to_json(self) -> dict[str, Any]:
        return summary(self.build, self.publications, chunks=self.chunks,
                       dimension=self.dimension, skipped=self.skipped)


def embed(
    corpus: str | os.PathLike[str],
    *,
    artifact_id: str,
    model: ArtifactRef | None = None,
    chunk_size: int = 128,
    chunk_overlap: int = 16,
    batch_size: int = 32,
    normalize: bool = True,
    source: str | None = None,
    license: str = "NOASSERTION",
    owner: str = "NOASSERTION",
    home=None,
    key=None,
    issuer: str | None = None,
    new_version: bool = False,
    progress: bool | None = None,
) -> EmbedResult:
    """Embed the corpus under ``corpus`` and publish ``<artifact_id>.embeddings`` and
    ``<artifact_id>.chunks``; ``progress`` None shows a bar only on a terminal."""
    outputs = {f"{artifact_id}.embeddings": "embeddings.safetensors",
               f"{artifact_id}.chunks": "chunks.jsonl"}
    for output in outputs:  # a bad id is refused before any work, not after
        validate(BuildOutput, {"artifact_id": output, "artifact_commit": "0" * 64}, "--id")
    check_window(chunk_size, chunk_overlap)
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, not {batch_size}")

    files = list_corpus(corpus)
    if not files:  # before the library's own refusal of an empty manifest: a corpus error here
        raise CorpusError(f"nothing to embed: {os.fspath(corpus)} holds no file")
    manifest = dataset_manifest(corpus, name=artifact_id, source=source or os.fspath(corpus),
                                license=license, owner=owner, files=files)
    documents, skipped = read_documents(manifest, files)
    model_ref, folder = resolve_model(model, home=home, new_version=new_version)
    sentence_model = load_model(folder)
    dimension = dimension_of(sentence_model)
    rows = list(chunk_rows(chunk_documents(documents, load_tokenizer(folder), chunk_size,
                                           chunk_overlap)))
    if not rows:
        raise CorpusError(f"{os.fspath(corpus)}: the documents hold no token to embed")

    work = Path(tempfile.mkdtemp(prefix="receiptcore-embed-"))
    try:
        paths = {output: work / name for output, name in outputs.items()}
        write_chunk_table(paths[f"{artifact_id}.chunks"], rows)
        with EmbeddingsWriter(paths[f"{artifact_id}.embeddings"], len(rows), dimension) as writer, \
                count_progress(len(rows), "embedding", "chunks", progress) as advance:
            encode_into(sentence_model, [r.text for r in rows], writer, batch_size, normalize,
                        advance)
        build = make_build(
            paths,
            dataset_commits=[commit_of(manifest)],
            parameters={
                "chunk_size": chunk_size,
                "chunk_overlap": chunk_overlap,
                "chunk_unit": "tokens of the model's tokenizer.json",
                "embedded_suffixes": sorted(TEXT_SUFFIXES + JSONL_SUFFIXES),
                "batch_size": batch_size,
                "normalize": normalize,
                "dimension": dimension,
                "chunks": len(rows),
                "dtype": "float32",
                "device": "cpu",
            },
            inputs={"model": model_ref},
            seeds={},
            libraries=LIBRARIES,
        )
        store_manifest(manifest, home=home)
        publications = publish_outputs(build, paths, home=home, key=key, issuer=issuer,
                                       new_version=new_version)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return EmbedResult(build, publications, len(rows), dimension, skipped)


def encode_into(model, texts: list[str], writer: EmbeddingsWriter, batch_size: int,
                normalize: bool, advance) -> None:
    """Embed ``texts`` into ``writer``'s rows. The texts are taken longest first and cut into
    batches exactly as sentence-transformers' ``encode`` does for one call over all of them (so
    the vectors are its vectors), but each batch goes to disk as soon as it is done."""
    import numpy as np

    order = np.argsort([-len(text) for text in texts])
    for first in range(0, len(order), batch_size):
        rows = order[first : first + batch_size]
        vectors = model.encode([texts[i] for i in rows], batch_size=batch_size,
                               convert_to_numpy=True, normalize_embeddings=normalize,
                               show_progress_bar=False)
        writer.write(rows, vectors)
        advance(len(rows))


def _ref(publications: list[Publication], suffix: str) -> ArtifactRef:
    from receiptcore.commit import Commit

    [found] = [p for p in publications if p.artifact_id.endswith(suffix)]
    return ArtifactRef(found.artifact_id, Commit.parse(found.artifact_commit))

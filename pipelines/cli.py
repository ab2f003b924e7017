"""``receiptcore pipeline embed|index|lora|query``: the models side on the command line.

Registered as the ``pipeline`` command through the entry point group ``receiptcore.commands``
(see ``pipelines/pyproject.toml``); the library finds it at run time and never imports it.
Errors go through the library's CLI: one line on stderr and the catalogue's exit code.
"""

from __future__ import annotations

import argparse
import sys

from pipelines.refs import ArtifactRef
from receiptcore.cli import options
from receiptcore.cli.output import emit

EXAMPLES = """\
examples:
  receiptcore pipeline embed docs/ --id docs
      chunk and embed every .md/.txt/.jsonl file of docs/ with the packaged MiniLM (published
      and verified first), publish docs.embeddings and docs.chunks
  receiptcore pipeline index --embeddings docs.embeddings@sha256:3f2a... --id docs
      verify the embeddings, build docs.faiss and docs.usearch, publish both
  receiptcore pipeline lora --base all-minilm-l6-v2@sha256:9c1e... --data docs.chunks --id docs-lora
      train a LoRA adapter for a few steps on pairs of consecutive chunks; publish the folder
  receiptcore pipeline query docs.faiss "How is a tree commit computed?" --top-k 3
      answer from the verified index, each hit with its document, bytes and commits
  receiptcore verify docs.faiss --lineage
      the index, the embeddings, the model and the corpus' dataset manifest, all verified

References are ID (its latest version) or ID@COMMIT (sha256:<hex> or bare hex).
--json prints every commit, artifact id and ledger index of the run.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pipeline",
        help="build embeddings, vector indexes and LoRA adapters, each published with a receipt",
        description="The models side: each pipeline verifies its inputs, builds, writes a build "
        "manifest and publishes every output with a signed receipt in the ledger.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = parser.add_subparsers(dest="pipeline", metavar="PIPELINE", required=True)
    common = argparse.ArgumentParser(add_help=False)
    options.add(common, "home", "json")
    publishing = argparse.ArgumentParser(add_help=False, parents=[common])
    publishing.add_argument("--id", required=True, dest="artifact_id", metavar="ID",
                            help="artifact id of the outputs (suffixed per output)")
    publishing.add_argument("--key", metavar="PATH", help="receipt signing key "
                            "(default: $RECEIPTCORE_SIGNING_KEY, else .receiptcore/signing.key)")
    publishing.add_argument("--issuer", help="who signs, e.g. ci@models-host")
    publishing.add_argument("--new-version", action="store_true",
                            help="publish other bytes under ids that already have a version")
    options.add(publishing, "progress")
    form = {"epilog": EXAMPLES, "formatter_class": argparse.RawDescriptionHelpFormatter}

    embed = verbs.add_parser("embed", parents=[publishing], help="corpus -> embeddings + chunk table", **form)
    embed.add_argument("corpus", metavar="CORPUS", help="a folder of .txt/.md/.markdown/.rst/.jsonl files")
    embed.add_argument("--model", type=ArtifactRef.parse, metavar="ID@COMMIT",
                       help="a published sentence-transformers model folder (default: the packaged MiniLM)")
    embed.add_argument("--chunk-size", type=int, default=128, help="tokens per chunk (default 128)")
    embed.add_argument("--chunk-overlap", type=int, default=16, help="tokens shared by neighbours (default 16)")
    embed.add_argument("--batch-size", type=int, default=32, help="chunks per encode batch (default 32)")
    embed.add_argument("--source", help="where the corpus came from (default: CORPUS as given)")
    embed.add_argument("--license", default="NOASSERTION", help="the corpus' license (SPDX)")
    embed.add_argument("--owner", default="NOASSERTION", help="who answers for the corpus")
    embed.set_defaults(func=_run_embed)

    index = verbs.add_parser("index", parents=[publishing], help="embeddings -> faiss + usearch", **form)
    index.add_argument("--embeddings", type=ArtifactRef.parse, required=True, metavar="ID@COMMIT")
    index.add_argument("--model", type=ArtifactRef.parse, metavar="ID@COMMIT",
                       help="the model that embeds queries (default: the one that made the embeddings)")
    index.add_argument("--flat-below", type=int, default=10_000, help="faiss flat below this many vectors, HNSW above")
    index.add_argument("--threads", type=int, default=1,
                       help="build threads (default 1: reproducible bytes; more: faster, HNSW graphs vary)")
    index.set_defaults(func=_run_index)

    lora = verbs.add_parser("lora", parents=[publishing], help="base model + chunks -> LoRA adapter", **form)
    lora.add_argument("--base", type=ArtifactRef.parse, required=True, metavar="MODEL_ID@COMMIT")
    lora.add_argument("--data", type=ArtifactRef.parse, required=True, metavar="CHUNKS_ID@COMMIT",
                      help="a chunk table published by `pipeline embed` (<ID>.chunks)")
    lora.add_argument("--steps", type=int, default=20, help="training steps (default 20)")
    lora.add_argument("--batch-size", type=int, default=8, help="pairs per step (default 8)")
    lora.add_argument("--seed", type=int, default=0, help="the seed of everything random (default 0)")
    lora.set_defaults(func=_run_lora)

    query = verbs.add_parser("query", parents=[common], help="search a verified index", **form)
    query.add_argument("index", type=ArtifactRef.parse, metavar="INDEX_ID[@COMMIT]",
                       help="a published <ID>.faiss or <ID>.usearch")
    query.add_argument("text", metavar="QUERY")
    query.add_argument("--top-k", type=int, default=3, help="hits to return (default 3)")
    query.set_defaults(func=_run_query)


def _publishing(args) -> dict:
    """What every publishing pipeline takes from the command line besides its inputs."""
    key = None
    if args.key:
        from receiptcore.signing.keys import load_signing_key

        key = load_signing_key(args.key)
    return {"home": args.home, "key": key, "issuer": args.issuer,
            "new_version": args.new_version, "progress": False if args.no_progress else None}


def _run_embed(args) -> int:
    with _extra():
        from pipelines.embed import embed

        result = embed(args.corpus, artifact_id=args.artifact_id, model=args.model,
                       chunk_size=args.chunk_size, chunk_overlap=args.chunk_overlap,
                       batch_size=args.batch_size, source=args.source, license=args.license,
                       owner=args.owner, **_publishing(args))
    skipped = f"; skipped {len(result.skipped)}: {', '.join(result.skipped)}" if result.skipped else ""
    return _print(args, result, f"embedded {result.chunks} chunks (dimension {result.dimension}){skipped}")


def _run_index(args) -> int:
    with _extra():
        from pipelines.index import IndexParams, build_index

        params = IndexParams(flat_below=args.flat_below, threads=args.threads)
        result = build_index(args.embeddings, artifact_id=args.artifact_id, model=args.model,
                             params=params, **_publishing(args))
    return _print(args, result, f"indexed {result.count} vectors (dimension {result.dimension})")


def _run_lora(args) -> int:
    with _extra():
        from pipelines.lora import LoraParams, train_lora

        params = LoraParams(steps=args.steps, batch_size=args.batch_size, seed=args.seed)
        result = train_lora(args.base, args.data, artifact_id=args.artifact_id, params=params,
                            **_publishing(args))
    return _print(args, result, f"trained {args.steps} steps on {result.pairs} pairs "
                                f"(last loss {result.final_loss:.4f})")


def _run_query(args) -> int:
    with _extra():
        from pipelines.query import query

        answer = query(args.index, args.text, top_k=args.top_k, home=args.home)
    emit(args, answer.to_json(), answer.render())
    return 0


def _print(args, result, headline: str) -> int:
    data = result.to_json()
    lines = [headline]
    lines += [f"  dataset   {commit}" for commit in data["dataset_manifest_commits"]]
    lines += [f"  input     {role}: {ref['artifact_id']}@{ref['artifact_commit']}"
              for role, ref in sorted(data["inputs"].items())]
    lines.append(f"  build     {data['build_manifest_commit']}")
    lines += [f"  published {a['artifact_id']}@{a['artifact_commit']} (ledger index "
              f"{a['ledger_index']})" for a in data["artifacts"]]
    emit(args, data, "\n".join(lines))
    return 0


class _extra:
    """A missing heavy library is a usage error with the command that installs it."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> None:
        if isinstance(error, ModuleNotFoundError) and error.name:
            print("receiptcore: hint: pip install 'receiptcore[pipelines]'", file=sys.stderr)
            raise ValueError(f"the pipelines need {error.name!r}, which is not installed") from error

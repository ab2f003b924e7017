"""``receiptcore manifest``: dataset and build manifests, and their commits."""

from __future__ import annotations

import argparse
import os
import re
from typing import TYPE_CHECKING

from receiptcore.cli import options
from receiptcore.cli.output import emit
from receiptcore.commit import Commit
from receiptcore.errors import SchemaError
from receiptcore.util.progress import progress_bar

if TYPE_CHECKING:
    from receiptcore.contracts import BuildManifest, DatasetManifest

# receiptcore.commitments (pydantic) is imported when a command runs, not when the CLI builds its
# parser, so that other commands start fast.

EXAMPLES = """\
examples:
  receiptcore manifest dataset corpus/ --source s3://bucket/corpus@2026-11-01 \\
      --license CC-BY-4.0 --owner data-team --out corpus.manifest.json
                                  hash every file (parallel, progress bar); print the commit
  receiptcore manifest build --dataset corpus.manifest.json --code-revision $(git rev-parse HEAD) \\
      --param chunk_size=512 --param model='"bge-small"' --seed python=42 \\
      --library numpy --library faiss-cpu==1.8.0 --artifact docs-index=out/index.faiss \\
      --out build.manifest.json
  receiptcore manifest commit build.manifest.json   check a manifest file, print its commit

Commits are sha256 of the RFC 8785 canonical JSON of the manifest, printed as sha256:<hex>
(a commit is accepted in either spelling, with or without the sha256: prefix).
"""

_ASSIGNMENT = re.compile(r"^([^=]+)=(.*)$", re.DOTALL)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = options.command(
        subparsers,
        "manifest",
        help="make dataset and build manifests and print their commits",
        description="Make the manifests that commitments bind: a dataset manifest (every file "
        "of a corpus with size and sha256, plus source, license and owner) and a build "
        "manifest (inputs and outputs of a build).",
        epilog=EXAMPLES,
    )
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)

    dataset = options.command(kinds, "dataset", help="manifest of a corpus directory", epilog=EXAMPLES)
    dataset.add_argument("directory", metavar="DIR", help="the corpus root")
    dataset.add_argument("--name", help="dataset id (default: the directory's name)")
    dataset.add_argument("--source", required=True, help="where the corpus came from")
    dataset.add_argument("--license", required=True, help="declared license (SPDX id where one applies)")
    dataset.add_argument("--owner", required=True, help="who answers for the data")
    options.add(dataset, "threads", "progress")
    _add_output_flags(dataset)
    dataset.set_defaults(func=run_dataset)

    build = options.command(kinds, "build", help="manifest of a build's inputs and outputs", epilog=EXAMPLES)
    build.add_argument("--dataset", action="append", default=[], metavar="MANIFEST|COMMIT",
                       help="a dataset manifest file, or its commit (repeatable)")
    build.add_argument("--code-revision", required=True, help="revision of the code that ran")
    build.add_argument("--param", action="append", default=[], metavar="NAME=JSON",
                       help="a build parameter; the value is JSON (repeatable)")
    build.add_argument("--seed", action="append", default=[], metavar="NAME=INT", help="a random seed (repeatable)")
    build.add_argument("--library", action="append", default=[], metavar="NAME[==VERSION]",
                       help="a library that shaped the output; without a version, the installed one (repeatable)")
    build.add_argument("--artifact", action="append", default=[], required=True, metavar="ID=PATH|ID=COMMIT",
                       help="an output: its id and file or folder (hashed: a folder is a tree) or "
                       "commit (repeatable)")
    _add_output_flags(build)
    build.set_defaults(func=run_build)

    commit = options.command(kinds, "commit", help="check a manifest file and print its commit", epilog=EXAMPLES)
    commit.add_argument("path", metavar="FILE", help="a dataset or build manifest")
    options.add(commit, "follow_symlinks", "json")
    commit.set_defaults(func=run_commit)


def _add_output_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="FILE", help="write the manifest here (atomically)")
    options.add(parser, "json")


def run_dataset(args: argparse.Namespace) -> int:
    from receiptcore.commitments import dataset_manifest, list_corpus

    files = list_corpus(args.directory)
    name = args.name or os.path.basename(os.path.abspath(args.directory))
    total, count = sum(size for _, _, size in files), len(files)
    with progress_bar("hashing", enabled=False if args.no_progress else None) as update:
        manifest = dataset_manifest(
            args.directory, name=name, source=args.source, license=args.license,
            owner=args.owner, threads=args.threads, files=files,
            progress=lambda done, n: update(done, total, n, count),
        )
    return _emit(args, manifest, "dataset_manifest_commit")


def run_build(args: argparse.Namespace) -> int:
    from receiptcore.commitments import build_manifest

    manifest = build_manifest(
        dataset_manifest_commits=[_dataset_commit(value) for value in args.dataset],
        code_revision=args.code_revision,
        parameters={name: _json_value(name, text) for name, text in map(_split("--param"), args.param)},
        seeds={name: _int(name, text) for name, text in map(_split("--seed"), args.seed)},
        libraries=_libraries(args.library),
        outputs=_outputs(args.artifact),
    )
    return _emit(args, manifest, "build_manifest_commit")


def run_commit(args: argparse.Namespace) -> int:
    from receiptcore.commitments import commit_of, read_manifest

    manifest = read_manifest(args.path)
    commit = commit_of(manifest)
    emit(args, {"kind": manifest.kind, "commit": commit, "path": args.path}, str(commit))
    return 0


def _emit(args: argparse.Namespace, manifest: DatasetManifest | BuildManifest, label: str) -> int:
    from receiptcore.commitments import commit_of

    commit = commit_of(manifest)
    if args.out:
        from receiptcore.util.atomic import replace_file

        replace_file(args.out, manifest.to_json_bytes())
    emit(args, {label: commit, "manifest": manifest.to_json_obj()}, str(commit))
    return 0


def _dataset_commit(value: str) -> Commit:
    """A dataset manifest file's commit, or a commit given as such (either spelling)."""
    from receiptcore.commitments import commit_of, read_manifest_of
    from receiptcore.contracts import DatasetManifest

    return _commit_or_none(value) or commit_of(read_manifest_of(value, DatasetManifest))


def _outputs(values: list[str]) -> dict[str, Commit]:
    """``ID=PATH`` (a file's sha256, a folder's tree commit) or ``ID=COMMIT`` (either spelling)
    for each output."""
    from receiptcore.commitments import artifact_commit

    outputs: dict[str, Commit] = {}
    for artifact_id, target in map(_split("--artifact"), values):
        if artifact_id in outputs:
            raise ValueError(f"--artifact {artifact_id}: given twice")
        outputs[artifact_id] = _commit_or_none(target) or artifact_commit(target)
    return outputs


def _commit_or_none(value: str) -> Commit | None:
    if os.path.exists(value):
        return None
    try:
        return Commit.parse(value)
    except ValueError:
        return None


def _libraries(values: list[str]) -> dict[str, str]:
    from receiptcore.commitments import library_versions

    pinned, look_up = {}, []
    for value in values:
        name, sep, version = value.partition("==")
        if sep:
            pinned[name.strip()] = version.strip()
        else:
            look_up.append(value.strip())
    return {**library_versions(look_up), **pinned}


def _split(flag: str):
    def split(value: str) -> tuple[str, str]:
        match = _ASSIGNMENT.match(value)
        if not match:
            raise ValueError(f"{flag} {value!r}: expected NAME=VALUE")
        return match.group(1).strip(), match.group(2)

    return split


def _json_value(name: str, text: str):
    from receiptcore.contracts import parse_json_bytes

    try:
        return parse_json_bytes(text, f"--param {name}")
    except SchemaError as error:
        if "expected a JSON value" not in str(error):
            raise
        raise SchemaError(f"{error} (strings need JSON quotes: {name}='\"text\"')") from None


def _int(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"--seed {name}={text}: the seed must be an integer") from None

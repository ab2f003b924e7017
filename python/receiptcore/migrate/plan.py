"""The migration plan: the gate's findings turned into artifacts, without changing anything.

How findings become artifacts (docs/migrate.md says the same to users):

- a forbidden directory (``datasets/``) is one tree artifact, whole;
- a folder in which at least two files are flagged and whose other files are all small
  companions (configs, tokenizers, text: :data:`COMPANIONS`) is one tree artifact: a sharded
  checkpoint moves with its ``config.json`` and its shard index;
- any other flagged file is a file artifact of its own;
- findings that are not assets (an import across the boundary, an unreadable file, a private key,
  an LFS pointer, a submodule) are listed as left for a person, with the rule to read.

Each artifact gets an id (its path in the repository, which is unique there; ``--id PATH=ID``
overrides it), its size, the reference file it will leave, the bytes git history still holds
for it, and the code sites that name it in a string literal (an :mod:`ast` pass over the
tracked Python files, the kind of pass the gate's import rule makes), so that the clean-up after
the move is a list.
"""

from __future__ import annotations

import ast
import bisect
import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from receiptcore.errors import ArtifactIdError, ConfigError
from receiptcore.ids import ALLOWED, check_artifact_id, is_valid
from receiptcore.migrate import git
from receiptcore.migrate.reference import SUFFIX, reference_path

ASSET_RULES = frozenset(
    {"weights", "tensor-data", "vector-index", "forbidden-dir", "large-file", "dataset", "unsafe-pickle"}
)
"""Rules whose findings are bytes that belong in the artifact store."""

NEVER_PUBLISHED = {
    "private-key": "a private key is never published: revoke it, remove it, rewrite history",
}
"""Rules whose findings must not be copied anywhere, whatever else flagged them."""

COMPANIONS = frozenset(
    {".json", ".txt", ".yaml", ".yml", ".md", ".model", ".vocab", ".merges", ".tiktoken", ".csv",
     ".tsv", ".jsonl", ".cfg"}
)
"""Extensions of the files that travel with flagged shards when their folder becomes a tree."""


@dataclass(frozen=True)
class CodeSite:
    """A string literal in tracked Python code that names a planned path."""

    path: str
    line: int
    literal: str


@dataclass
class PlannedArtifact:
    path: str
    kind: Literal["file", "tree"]
    artifact_id: str
    reference: str
    size: int
    files: int
    rules: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    code_sites: list[CodeSite] = field(default_factory=list)
    history_bytes: int = 0

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class LeftOver:
    """A finding the migration does not move, and what to do about it."""

    rule: str
    path: str
    why: str


@dataclass
class Plan:
    root: Path
    artifacts: list[PlannedArtifact]
    left: list[LeftOver]
    unfinished: list[str]
    """Reference files of an externalize that was interrupted: the next one finishes them."""

    @property
    def size(self) -> int:
        return sum(a.size for a in self.artifacts)

    @property
    def history_bytes(self) -> int:
        return sum(a.history_bytes for a in self.artifacts)

    def to_json(self) -> dict:
        return {
            "root": os.fspath(self.root),
            "artifacts": [a.to_json() for a in self.artifacts],
            "size": self.size,
            "history_bytes": self.history_bytes,
            "left": [asdict(x) for x in self.left],
            "unfinished": self.unfinished,
        }

    def describe(self) -> str:
        from receiptcore.scan.rules import human_size

        lines = []
        for a in self.artifacts:
            what = f"tree of {a.files} files" if a.kind == "tree" else "file"
            lines.append(f"{a.path}{'/' if a.kind == 'tree' else ''}  ->  {a.artifact_id}  ({what}, {human_size(a.size)})")
            lines.append(f"    reference: {a.reference}")
            if a.rules:
                lines.append(f"    flagged by: {', '.join(a.rules)}")
            if a.history_bytes:
                lines.append(f"    git history holds {human_size(a.history_bytes)} of it")
            for site in a.code_sites:
                lines.append(f"    named in {site.path}:{site.line}: {site.literal!r}")
        for path in self.unfinished:
            lines.append(f"{path}: an interrupted externalize; the next one finishes it")
        for x in self.left:
            lines.append(f"left for you: {x.path} ({x.rule}): {x.why}")
        if not self.artifacts and not self.unfinished:
            lines.append("nothing to externalize")
        else:
            sites = sum(len(a.code_sites) for a in self.artifacts)
            lines.append(
                f"{len(self.artifacts)} artifact(s), {human_size(self.size)}; {sites} code site(s) "
                f"to change; git history holds {human_size(self.history_bytes)} of them "
                "(docs/migrate.md: git filter-repo)"
            )
        return "\n".join(lines) + "\n"


def make_plan(
    root: str | os.PathLike[str] = ".",
    paths: list[str] | None = None,
    ids: dict[str, str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
) -> Plan:
    """The plan for ``paths`` (each a file or folder, one artifact each), or for everything the
    gate flags in ``root`` when none is given. ``ids`` maps a path to the id it gets."""
    root = git.require_work_tree(Path(root))
    left: list[LeftOver] = []
    if paths:
        given = [_relative(root, p) for p in paths]
        # A path already replaced by its reference is done; one pulled back is published again
        # (its next version, if it changed) and its reference rewritten.
        chosen = {rel: ([], []) for rel in given if os.path.lexists(root / rel)}
    else:
        chosen, left = _from_findings(root, config_file)
    pending = unfinished(root)
    artifacts = []
    for rel, (rules, flagged) in sorted(chosen.items()):
        if reference_path(rel).as_posix() not in pending:  # finished, not planned anew
            artifacts.append(_artifact(root, rel, rules, flagged))
    given = {_relative(root, p): i for p, i in (ids or {}).items()}
    done = {rel for rel in given if rel not in chosen and (root / reference_path(rel)).exists()}
    _assign_ids(artifacts, {rel: i for rel, i in given.items() if rel not in done})
    _find_code_sites(root, artifacts)
    history = git.history_bytes(root, [a.path for a in artifacts])
    for a in artifacts:
        a.history_bytes = history.get(a.path, 0)
    return Plan(root, artifacts, left, pending)


def unfinished(root: Path) -> list[str]:
    """Reference files whose externalize stopped half-way: the asset still tracked, or its
    removal under way, or its ``.gitignore`` line or the reference itself not yet in git.
    (An asset that is present but untracked and ignored was pulled: that is finished.)"""
    from receiptcore.migrate.reference import asset_path

    refs = git.references(root, SUFFIX)
    if not refs:
        return []
    assets = {ref: asset_path(ref).as_posix() for ref in refs}
    still_tracked = set(git.tracked(root, *assets.values()))
    in_index = set(git.tracked(root, *refs))
    lines = git.ignored_lines(root)
    found = []
    for ref, asset in assets.items():
        is_tracked = asset in still_tracked or any(p.startswith(asset + "/") for p in still_tracked)
        removing = os.path.lexists(root / tomb(asset))
        ignored = git.ignore_pattern(asset, False) in lines or git.ignore_pattern(asset, True) in lines
        if is_tracked or removing or not ignored or ref not in in_index:
            found.append(ref)
    return found


def tomb(rel: str) -> str:
    """Where an asset is moved (one rename) before it is deleted, so that an interrupted
    delete never leaves half a folder under the asset's own name."""
    head, name = posixpath.split(rel)
    return posixpath.join(head, f".{name}.externalizing")


def _relative(root: Path, path: str | os.PathLike[str]) -> str:
    """``path`` (relative to the current folder, or absolute) as a POSIX path relative to root."""
    full = Path(os.path.abspath(path))
    try:
        rel = full.relative_to(root)
    except ValueError:
        raise ConfigError(f"{os.fspath(path)} is outside the repository {root}") from None
    if not rel.parts or rel.parts[0] == ".git":
        raise ConfigError(f"{os.fspath(path)}: the repository itself or its .git cannot be externalized")
    if rel.name.endswith(SUFFIX):
        raise ConfigError(f"{os.fspath(path)} is a reference file: pull it, do not externalize it")
    if not os.path.lexists(full) and not os.path.lexists(reference_path(full)):
        raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
    return rel.as_posix()


def _from_findings(root: Path, config_file) -> tuple[dict[str, tuple[list[str], list[str]]], list[LeftOver]]:
    """Findings -> {path: (rules, flagged paths)} of the artifacts, and what is left."""
    from receiptcore.scan.config import load_config
    from receiptcore.scan.run import run_scan
    from receiptcore.scan.select import select_files

    config = load_config(root, Path(config_file) if config_file else None)
    result = run_scan(root, config, select_files(root, "git"))
    forbidden: dict[str, set[str]] = {}
    files: dict[str, set[str]] = {}
    left = []
    for finding in result.new:
        rules = list(getattr(finding, "rules", (finding.rule,)))
        never = [NEVER_PUBLISHED[r] for r in rules if r in NEVER_PUBLISHED]
        if never:
            left.append(LeftOver(finding.rule, finding.path, never[0]))
        elif not set(rules) & ASSET_RULES:
            left.append(LeftOver(
                finding.rule, finding.path,
                f"not bytes to move: see receiptcore scan --explain {finding.rule}",
            ))
        elif finding.rule == "forbidden-dir":
            forbidden.setdefault(finding.path.rstrip("/"), set()).update(rules)
        else:
            files.setdefault(finding.path, set()).update(rules)
    candidates = set(forbidden)
    by_folder: dict[str, list[str]] = {}
    for path in files:
        by_folder.setdefault(posixpath.dirname(path), []).append(path)
    for folder, flagged in by_folder.items():
        if folder and len(flagged) >= 2 and _only_companions(root, folder, set(flagged)):
            candidates.add(folder)
    trees = [t for t in sorted(candidates) if not _below_any(t, candidates)]
    chosen: dict[str, tuple[set[str], set[str]]] = {t: (set(), set()) for t in trees}
    for path, rules in [*files.items(), *forbidden.items()]:
        owner = _owner(path, trees) or path
        rules_of, flagged_of = chosen.setdefault(owner, (set(), set()))
        rules_of.update(rules)
        flagged_of.add(path)
    return {p: (sorted(r), sorted(f)) for p, (r, f) in chosen.items()}, left


def _below_any(path: str, folders) -> bool:
    return any(path.startswith(folder + "/") for folder in folders)


def _owner(path: str, chosen) -> str | None:
    return next((f for f in chosen if path == f or path.startswith(f + "/")), None)


def _only_companions(root: Path, folder: str, flagged: set[str]) -> bool:
    """Every other tracked file below ``folder`` is a companion (config, tokenizer, text), and
    none is a reference file: then the folder moves as one tree."""
    for path in git.tracked(root, folder):
        if path in flagged:
            continue
        if path.endswith(SUFFIX) or posixpath.splitext(path)[1].lower() not in COMPANIONS:
            return False
    return True


def _artifact(root: Path, rel: str, rules: list[str], flagged: list[str]) -> PlannedArtifact:
    from receiptcore.tree import list_folder

    full = root / rel
    if full.is_dir() and not full.is_symlink():
        listing = list_folder(full)
        kind, size, files = "tree", listing.size, len(listing.files)
    else:
        kind, size, files = "file", full.lstat().st_size, 1
    reference = reference_path(rel).as_posix()
    return PlannedArtifact(rel, kind, "", reference, size, files, rules, flagged)


def _assign_ids(artifacts: list[PlannedArtifact], given: dict[str, str]) -> None:
    """Each artifact's id: the one given, else its path (valid characters kept, the rest made
    ``-``); two artifacts never share one."""
    unknown = sorted(set(given) - {a.path for a in artifacts})
    if unknown:
        raise ConfigError(f"--id names a path that is not planned: {', '.join(unknown)}")
    taken: dict[str, str] = {}
    for a in artifacts:
        if a.path in given:
            a.artifact_id = check_artifact_id(given[a.path])
        else:
            candidate = re.sub(r"[^A-Za-z0-9._:/@+-]+", "-", a.path).strip("-._:/@+")
            if not is_valid(candidate):
                raise ArtifactIdError(
                    f"cannot make an artifact id of the path {a.path!r} ({ALLOWED}): "
                    f"pass --id {a.path}=ID"
                )
            a.artifact_id = candidate
        if a.artifact_id in taken:
            raise ConfigError(
                f"{a.path} and {taken[a.artifact_id]} would both be artifact id "
                f"{a.artifact_id!r}: give one another with --id PATH=ID"
            )
        taken[a.artifact_id] = a.path


def _find_code_sites(root: Path, artifacts: list[PlannedArtifact]) -> None:
    """The string literals in tracked Python files that name a planned path: the path from the
    repository's root or from the file's folder (``./`` and ``../`` resolved), something below
    a planned folder, or a planned file's own name. Each of these holds the artifact's last path
    component, so only the files ``git grep`` finds holding one are parsed, and only the parts
    of their syntax tree on a line that holds one are walked."""
    if not artifacts:
        return
    trees = [a.path for a in artifacts if a.kind == "tree"]
    needles = sorted({posixpath.basename(a.path) for a in artifacts})
    for source in git.python_naming(root, needles):
        if _below_any(source, trees):
            continue
        try:
            text = (root / source).read_bytes()
            tree = ast.parse(text, source)
        except (OSError, SyntaxError, ValueError):
            continue  # the gate reports what it cannot read
        marked = [n for n, line in enumerate(text.splitlines(), start=1)
                  if any(needle.encode() in line for needle in needles)]
        here = posixpath.dirname(source)
        for node in _nodes_on(tree, marked):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
                for a in artifacts:
                    if _names(node.value, here, a):
                        a.code_sites.append(CodeSite(source, node.lineno, node.value))
    for a in artifacts:
        a.code_sites.sort(key=lambda s: (s.path, s.line, s.literal))


def _nodes_on(tree: ast.AST, lines: list[int]) -> Iterator[ast.AST]:
    """The nodes of ``tree`` whose lines include one of ``lines`` (sorted): a subtree that spans
    none of them is not entered (a string literal's lines are within its parent's, once a
    definition's lines start at its first decorator)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            first, last = getattr(child, "lineno", None), getattr(child, "end_lineno", None)
            decorators = getattr(child, "decorator_list", None)
            if first is not None and decorators:
                first = min(first, *(d.lineno for d in decorators))
            if first is None or last is None:
                stack.append(child)
                continue
            at = bisect.bisect_left(lines, first)
            if at < len(lines) and lines[at] <= last:
                stack.append(child)


def _names(literal: str, here: str, artifact: PlannedArtifact) -> bool:
    text = literal.strip().rstrip("/")
    if not text or "\n" in text:
        return False
    for candidate in {posixpath.normpath(text), posixpath.normpath(posixpath.join(here, text))}:
        if candidate == artifact.path or candidate.startswith(artifact.path + "/"):
            return True
    name = posixpath.basename(artifact.path)
    return artifact.kind == "file" and "." in name.strip(".") and text == name

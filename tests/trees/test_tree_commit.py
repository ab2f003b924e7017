"""The tree commit is sha256 of the RFC 8785 form of the file list, sorted by path bytes: checked
against the rfc8785 package and hashlib on any list of files, and on real folders."""

from __future__ import annotations

import hashlib
import json

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from receiptcore.contracts import TreeManifest, validate
from receiptcore.tree import ManifestReader, tree_commit
from support.trees import independent_tree_commit, make_tree

SEGMENT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\\\x7f"
                  + "".join(map(chr, range(32)))),
    min_size=1, max_size=12,
).filter(lambda s: s not in (".", ".."))
PATHS = st.lists(SEGMENT, min_size=1, max_size=4).map("/".join)
ROWS = st.dictionaries(
    PATHS, st.tuples(st.integers(0, 2**53 - 1), st.binary(min_size=32, max_size=32).map(bytes.hex)),
    min_size=1, max_size=20,
)


@settings(max_examples=200, deadline=None)
@given(ROWS)
def test_the_commit_is_rfc8785_and_hashlib_over_the_list_sorted_by_path_bytes(rows):
    files = [(path, size, digest) for path, (size, digest) in rows.items()]
    independent = {
        "kind": "tree_manifest",
        "schema_version": 1,
        "files": [
            {"path": p, "size": s, "sha256": d}
            for p, s, d in sorted(files, key=lambda row: row[0].encode("utf-8"))
        ],
    }
    assert ManifestReader(files).read() == rfc8785.dumps(independent)
    assert tree_commit(files).hex == hashlib.sha256(rfc8785.dumps(independent)).hexdigest()
    paths = set(rows)
    if not any(p.rsplit("/", i)[0] in paths for p in paths for i in range(1, p.count("/") + 1)):
        validate(TreeManifest, json.loads(ManifestReader(files).read()))  # the contract accepts it


def test_real_folders_match_the_independent_commit(tmp_path):
    from receiptcore.commitments import artifact_commit

    tree = make_tree(tmp_path / "m")
    assert str(artifact_commit(tree)) == independent_tree_commit(tree)

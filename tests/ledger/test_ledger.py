"""The ledger contract, one set of tests for every SQL backend (the ``backend`` fixture gives
SQLite, then PostgreSQL): append-only, gap-free under concurrent writers, crash-safe, audited."""

from __future__ import annotations

import multiprocessing
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receiptcore.errors import CheckpointError, LedgerCorrupt, NotInLedger, RollbackDetected
from receiptcore.ledger import merkle, open_ledger
from receiptcore.ledger.audit import audit
from receiptcore.ledger.checkpoint import SignerKey, open_checkpoint
from receiptcore.ledger.pins import TrustedCheckpoints
from receiptcore.ledger.sql import prove
from receiptcore.ledger.sqlite import DB_FILE, PAGE_SIZE
from support.backends import Backend


def _fill(backend, n: int):
    ledger = backend.open()
    for i in range(n):
        ledger.append(f"receipt {i}".encode(), f"artifact-{i}", f"sha256:{i:064x}")
    return ledger


@pytest.mark.parametrize(
    ("table", "column"),
    [("entries", "data"), ("nodes", "hash"), ("checkpoints", "note"), ("meta", "value")],
)
@pytest.mark.parametrize("statement", ["UPDATE {t} SET {c} = {c}", "DELETE FROM {t}"])
def test_the_database_refuses_update_and_delete_on_every_table(backend, table, column, statement):
    _fill(backend, 5).close()
    with pytest.raises(backend.refused, match="append-only"):
        backend.raw().execute(statement.format(t=table, c=column))


@pytest.mark.parametrize("table", ["entries", "nodes", "checkpoints", "meta"])
def test_postgresql_refuses_truncate_on_every_table(postgres, tmp_path, table):
    """SQLite has no TRUNCATE (its DELETE guard covers ``DELETE FROM t``); PostgreSQL does."""
    backend = Backend("postgresql", tmp_path, postgres)
    _fill(backend, 2).close()
    with pytest.raises(backend.refused, match="append-only"):
        backend.raw().execute(f"TRUNCATE {table}")


def test_an_entry_can_only_be_inserted_at_the_next_index(backend):
    _fill(backend, 3).close()
    with pytest.raises(backend.refused, match="next index"):
        _insert_at(backend, 7)


def test_a_statement_with_a_gap_among_its_rows_leaves_none_of_them(backend):
    """A bulk append writes thousands of rows per statement: a gap inside one is refused as a
    single row is, and the statement's rows before the gap go with it."""
    _fill(backend, 3).close()
    mark = "?" if backend.kind == "sqlite" else "%s"
    row = f"({mark}, {mark}, {mark}, NULL, NULL)"
    with pytest.raises(backend.refused, match="next index"):
        backend.raw().execute(
            f"INSERT INTO entries VALUES {row}, {row}",
            (3, b"\x03" * 32, b"x", 5, b"\x05" * 32, b"y"),
        )
    assert backend.open().size() == 3


def test_postgresql_refuses_a_copy_that_leaves_a_gap(postgres, tmp_path):
    """PostgreSQL's bulk append is one COPY: the next-index guard runs on it too."""
    import psycopg

    backend = Backend("postgresql", tmp_path, postgres)
    _fill(backend, 3).close()
    with (
        backend.raw() as db,
        db.cursor() as cursor,
        pytest.raises(psycopg.Error, match="next index"),
        cursor.copy("COPY entries (idx, leaf_hash, data) FROM STDIN") as copy,
    ):
        copy.write_row((4, b"\x04" * 32, b"x"))
    assert backend.open().size() == 3


def _insert_at(backend, index: int) -> None:
    mark = "?" if backend.kind == "sqlite" else "%s"
    backend.raw().execute(
        f"INSERT INTO entries VALUES ({mark}, {mark}, {mark}, NULL, NULL)",
        (index, bytes(32), b"x"),
    )


def test_appending_the_same_receipt_twice_returns_the_first_entry(backend):
    ledger = _fill(backend, 4)
    again = ledger.append(b"receipt 2", "artifact-2", "sha256:" + "2".zfill(64))
    assert again.index == 2 and ledger.size() == 4
    batch = ledger.append_many(
        [(b"new", None, None), (b"new", None, None), (b"receipt 0", None, None)]
    )
    assert [e.index for e in batch] == [4, 4, 0] and ledger.size() == 5


def test_every_append_signs_a_checkpoint_of_the_new_tree(backend):
    ledger = _fill(backend, 6)
    tree = merkle.MemoryTree(merkle.leaf_hash(f"receipt {i}".encode()) for i in range(6))
    for size in range(1, 7):
        checkpoint = open_checkpoint(ledger.checkpoint_note(size), ledger.verifier_key)
        assert (checkpoint.size, checkpoint.root) == (size, tree.root(size))
    assert [size for size, _ in ledger.checkpoints()] == list(range(1, 7))


def test_proofs_come_from_stored_subtrees_and_verify_against_signed_checkpoints(backend):
    ledger = _fill(backend, 21)
    tree = merkle.MemoryTree(merkle.leaf_hash(f"receipt {i}".encode()) for i in range(21))
    for size in range(1, 22):
        root = open_checkpoint(ledger.checkpoint_note(size), ledger.verifier_key).root
        assert ledger.root(size) == root
        for index in range(size):
            proof = ledger.inclusion_proof(index, size)
            assert proof == tree.inclusion_proof(index, size)
            merkle.verify_inclusion(index, size, ledger.entry(index).leaf_hash, proof, root)
        for size1 in range(size + 1):
            proof = ledger.consistency_proof(size1, size)
            merkle.verify_consistency(size1, size, tree.root(size1), root, proof)


def test_a_proof_is_one_read_of_logarithmically_many_hashes(backend):
    ledger = backend.open()
    ledger.append_many((i.to_bytes(4, "big"), None, None) for i in range(5000))
    reads: list[int] = []
    original = ledger.stored_nodes

    def counting(positions):
        positions = list(positions)
        reads.append(len(positions))
        return original(positions)

    ledger.stored_nodes = counting
    ledger.inclusion_proof(2345, 4999)
    ledger.consistency_proof(1234, 4999)
    assert len(reads) == 2 and all(n <= 2 * (4999).bit_length() for n in reads)


def test_a_missing_subtree_hash_is_named():
    tree = merkle.MemoryTree(merkle.leaf_hash(bytes([i])) for i in range(8))
    stored = {(lvl, i): h for lvl, row in enumerate(tree.levels) for i, h in enumerate(row)}
    del stored[(2, 1)]
    with pytest.raises(LedgerCorrupt, match=r"level 2, index 1\) is missing"):
        prove(merkle.inclusion_proof, (0, 8), lambda wanted: {p: stored[p] for p in wanted if p in stored})


def test_a_sqlite_ledger_made_with_4_kib_pages_keeps_them_and_still_appends_and_verifies(tmp_path):
    """Ledgers made before the larger pages (SQLite's 4 KiB default) open, append in bulk and
    verify as they are; only a new ledger gets :data:`PAGE_SIZE`."""
    old = Backend("sqlite", tmp_path)
    home = Path(old.url.removeprefix("sqlite://"))
    home.mkdir()
    db = sqlite3.connect(home / DB_FILE)
    db.execute("PRAGMA page_size = 4096")
    db.execute("PRAGMA journal_mode = WAL")  # writes the header: the page size is now fixed
    db.close()
    _fill(old, 3).close()
    ledger = old.open()
    ledger.append_many((b"bulk %d" % i, f"a-{i}", None) for i in range(5000))
    assert audit(ledger, ledger.verifier_key).size == 5003
    ledger.close()
    assert old.raw().execute("PRAGMA page_size").fetchone()[0] == 4096
    new = Backend("sqlite", tmp_path)
    _fill(new, 1).close()
    assert new.raw().execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE != 4096


def test_lookups_by_artifact_id_and_commit(backend):
    ledger = _fill(backend, 3)
    assert ledger.find(artifact_id="artifact-1").index == 1
    assert ledger.find(artifact_commit=f"sha256:{2:064x}").index == 2
    with pytest.raises(NotInLedger, match="artifact id nope"):
        ledger.find(artifact_id="nope")
    with pytest.raises(NotInLedger):
        ledger.inclusion_proof(0, 4)
    with pytest.raises(ValueError):
        ledger.find()


def test_find_all_lists_versions_oldest_first_and_every_id_of_a_commit(backend):
    ledger = backend.open()
    same = "sha256:" + "a" * 64
    ledger.append(b"v1", "model", "sha256:" + "1" * 64)
    ledger.append(b"alias", "model-alias", same)
    ledger.append(b"v2", "model", same)
    ledger.append(b"other", "other", "sha256:" + "2" * 64)
    assert [e.data for e in ledger.find_all(artifact_id="model")] == [b"v1", b"v2"]
    assert [e.artifact_id for e in ledger.find_all(artifact_commit=same)] == ["model-alias", "model"]
    assert ledger.find_all(artifact_id="nope") == []


def test_a_ledger_refuses_a_key_it_was_not_started_with(backend):
    _fill(backend, 1).close()
    with pytest.raises(CheckpointError, match="was started with the key"):
        backend.open(signer=SignerKey.generate("someone.else/log"))


def test_a_readonly_ledger_cannot_append(backend):
    _fill(backend, 1).close()
    with backend.open(writable=False) as ledger, pytest.raises(CheckpointError):
        ledger.append(b"x")


def test_a_ledger_that_was_never_made_is_not_in_ledger(backend):
    with pytest.raises(NotInLedger, match="publish an artifact first"):
        open_ledger(backend.fresh(), writable=False)


def _append_worker(url: str, signer: str, worker: int, count: int) -> None:
    ledger = open_ledger(url, writable=True, signer=SignerKey.from_text(signer))
    for i in range(count):
        ledger.append(f"worker {worker} receipt {i}".encode())
        if i % 10 == 0:
            ledger.append(b"the receipt every worker appends")
    ledger.close()


def _run_workers(backend, url: str, per: int, workers: int = 4) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_append_worker, args=(url, backend.signer.to_text(), w, per))
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * workers


def test_four_processes_appending_at_once_lose_nothing_and_leave_no_gaps(backend):
    backend.open().close()  # key and schema exist before the race on the rows
    _run_workers(backend, backend.url, 40)
    ledger = backend.open()
    datas = [e.data for e in ledger.entries()]
    assert [e.index for e in ledger.entries()] == list(range(161))
    expected = {f"worker {w} receipt {i}".encode() for w in range(4) for i in range(40)}
    assert set(datas) == expected | {b"the receipt every worker appends"}
    assert len(datas) == len(set(datas))
    assert audit(ledger, ledger.verifier_key).size == 161


def test_racing_ledger_creation_makes_one_ledger(backend):
    url = backend.fresh()
    _run_workers(backend, url, 3)
    ledger = backend.open(url)
    assert audit(ledger, ledger.verifier_key).size == 13


KILLED_MID_APPEND = """
import os, signal, sys
from receiptcore.ledger import checkpoint, open_ledger

ledger = open_ledger(sys.argv[1], writable=True, signer=checkpoint.SignerKey.from_text(sys.argv[2]))
for i in range(5):
    ledger.append(b"committed %d" % i)
# die inside the next append: its entry and nodes are written, its checkpoint is being signed
checkpoint.Checkpoint.sign = lambda self, signer: os.kill(os.getpid(), signal.SIGKILL)
ledger.append_many([(b"never committed %d" % i, None, None) for i in range(3)])
"""


def test_a_writer_killed_in_the_middle_of_an_append_leaves_a_log_that_verifies(backend):
    argv = [sys.executable, "-c", KILLED_MID_APPEND, backend.url, backend.signer.to_text()]
    assert subprocess.run(argv, check=False).returncode == -signal.SIGKILL
    ledger = backend.open()
    assert [e.data for e in ledger.entries()] == [b"committed %d" % i for i in range(5)]
    assert audit(ledger, ledger.verifier_key).size == 5
    assert ledger.append(b"after the crash").index == 5
    assert audit(ledger, ledger.verifier_key).size == 6


def test_a_writer_killed_at_an_arbitrary_moment_leaves_a_log_that_verifies(backend):
    script = textwrap.dedent("""
        import sys
        from receiptcore.ledger import checkpoint, open_ledger
        signer = checkpoint.SignerKey.from_text(sys.argv[2])
        ledger = open_ledger(sys.argv[1], writable=True, signer=signer)
        i = 0
        while True:
            ledger.append_many([(b"%d-%d" % (i, j), None, None) for j in range(50)])
            print(i, flush=True)
            i += 1
    """)
    argv = [sys.executable, "-c", script, backend.url, backend.signer.to_text()]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
    for _ in range(5):
        proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    ledger = backend.open()
    report = audit(ledger, ledger.verifier_key)
    assert report.size % 50 == 0 and report.size >= 250


def test_an_edited_receipt_is_found_and_named(backend):
    _fill(backend, 12).close()
    backend.tamper("UPDATE entries SET data = ? WHERE idx = 7", b"forged receipt")
    ledger = backend.open()
    with pytest.raises(LedgerCorrupt, match="entry 7: its bytes do not match") as info:
        audit(ledger, ledger.verifier_key)
    assert info.value.index == 7


def test_an_edit_that_also_rewrites_the_leaf_hash_is_named_by_its_checkpoint(backend):
    _fill(backend, 12).close()
    forged = b"forged receipt"
    backend.tamper(
        "UPDATE entries SET data = ?, leaf_hash = ? WHERE idx = 9", forged, merkle.leaf_hash(forged)
    )
    ledger = backend.open()
    with pytest.raises(LedgerCorrupt, match="entry 9: the tree does not match") as info:
        audit(ledger, ledger.verifier_key)
    assert info.value.index == 9


def test_an_owner_who_rewrites_history_with_the_key_is_caught_by_an_earlier_checkpoint(
    backend, tmp_path
):
    """The owner disables the triggers, edits an entry, recomputes every subtree and re-signs the
    checkpoints with the ledger key: the ledger is self-consistent again, and only a verifier
    holding a checkpoint signed before the edit can tell. That is where tamper evidence lives."""
    ledger = _fill(backend, 12)
    pins = TrustedCheckpoints(tmp_path / "state", ledger.location)
    checkpoint, note = ledger.latest_checkpoint(ledger.verifier_key)
    pins.advance(ledger.verifier_key, checkpoint, note, ledger.consistency_proof)
    ledger.close()

    forged = b"forged receipt"
    backend.tamper(
        "UPDATE entries SET data = ?, leaf_hash = ? WHERE idx = 3", forged, merkle.leaf_hash(forged)
    )
    leaves = [merkle.leaf_hash(forged if i == 3 else f"receipt {i}".encode()) for i in range(12)]
    tree = merkle.MemoryTree(leaves)
    for level, row in enumerate(tree.levels[1:], start=1):
        for index, h in enumerate(row):
            backend.tamper("UPDATE nodes SET hash = ? WHERE level = ? AND idx = ?", h, level, index)
    backend.tamper("DELETE FROM checkpoints")
    note = checkpoint.__class__(backend.signer.name, 12, tree.root()).sign(backend.signer)
    backend.tamper("INSERT INTO checkpoints VALUES (?, ?)", 12, note)

    ledger = backend.open()
    assert audit(ledger, ledger.verifier_key).size == 12  # self-consistent again
    forged_checkpoint, forged_note = ledger.latest_checkpoint(ledger.verifier_key)
    with pytest.raises(RollbackDetected, match="forked"):
        pins.advance(ledger.verifier_key, forged_checkpoint, forged_note, ledger.consistency_proof)


def test_an_edited_subtree_hash_is_found(backend):
    _fill(backend, 12).close()
    backend.tamper("UPDATE nodes SET hash = ? WHERE level = 2 AND idx = 1", bytes(32))
    ledger = backend.open()
    with pytest.raises(LedgerCorrupt, match=r"entries 4\.\.7: the stored subtree hash"):
        audit(ledger, ledger.verifier_key)


def test_removed_entries_are_found(backend):
    _fill(backend, 12).close()
    backend.tamper("DELETE FROM entries WHERE idx >= 10")
    ledger = backend.open()
    with pytest.raises(LedgerCorrupt, match="covers 11 entries but only 10 are stored"):
        audit(ledger, ledger.verifier_key)


def test_a_checkpoint_signed_by_another_key_fails_the_audit(backend):
    ledger = _fill(backend, 3)
    with pytest.raises(LedgerCorrupt, match="checkpoint at size 1"):
        audit(ledger, SignerKey.generate(ledger.origin).verifier)


# Each example opens its own fresh ledger (backend.fresh()): the fixture only says which kind.
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(1, 40), min_size=1, max_size=6), st.data())
def test_stored_subtrees_match_a_tree_built_in_memory_for_any_batching(backend, batches, data):
    ledger = backend.open(backend.fresh())
    tree, n = merkle.MemoryTree(), 0
    for batch in batches:
        items = [(b"entry %d" % (n + i), None, None) for i in range(batch)]
        ledger.append_many(items)
        for item in items:
            tree.append(merkle.leaf_hash(item[0]))
        n += batch
        cp = open_checkpoint(ledger.checkpoint_note(n), ledger.verifier_key)
        assert (cp.size, cp.root) == (n, tree.root())
    positions = [(lvl, i) for lvl, row in enumerate(tree.levels) for i in range(len(row))]
    stored = ledger.stored_nodes(positions)
    assert stored == {(lvl, i): tree.levels[lvl][i] for lvl, i in positions}
    size = data.draw(st.integers(1, n))
    index = data.draw(st.integers(0, size - 1))
    assert ledger.inclusion_proof(index, size) == tree.inclusion_proof(index, size)
    old = data.draw(st.integers(0, size))
    assert ledger.consistency_proof(old, size) == tree.consistency_proof(old, size)
    ledger.close()

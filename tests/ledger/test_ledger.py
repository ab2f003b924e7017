"""The SQLite ledger: append-only, gap-free under concurrent writers, crash-safe, and audited."""

from __future__ import annotations

import multiprocessing
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receiptcore.errors import CheckpointError, LedgerCorrupt, NotInLedger
from receiptcore.ledger import merkle
from receiptcore.ledger.audit import audit
from receiptcore.ledger.checkpoint import SignerKey, open_checkpoint
from receiptcore.ledger.sqlite import DB_FILE, SqliteLedger


def _fill(home: Path, n: int) -> SqliteLedger:
    ledger = SqliteLedger(home)
    for i in range(n):
        ledger.append(f"receipt {i}".encode(), f"artifact-{i}", f"sha256:{i:064x}")
    return ledger


def _raw(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / DB_FILE, isolation_level=None)


@pytest.mark.parametrize(
    ("table", "column"),
    [("entries", "data"), ("nodes", "hash"), ("checkpoints", "note"), ("meta", "value")],
)
@pytest.mark.parametrize("statement", ["UPDATE {t} SET {c} = {c}", "DELETE FROM {t}"])
def test_triggers_refuse_update_and_delete_on_every_table(tmp_path, table, column, statement):
    _fill(tmp_path, 5).close()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        _raw(tmp_path).execute(statement.format(t=table, c=column))


def test_an_entry_can_only_be_inserted_at_the_next_index(tmp_path):
    _fill(tmp_path, 3).close()
    with pytest.raises(sqlite3.IntegrityError, match="next index"):
        _raw(tmp_path).execute("INSERT INTO entries VALUES (7, zeroblob(32), x'00', NULL, NULL)")


def test_appending_the_same_receipt_twice_returns_the_first_entry(tmp_path):
    ledger = _fill(tmp_path, 4)
    again = ledger.append(b"receipt 2", "artifact-2", "sha256:" + "2".zfill(64))
    assert again.index == 2 and ledger.size() == 4
    batch = ledger.append_many(
        [(b"new", None, None), (b"new", None, None), (b"receipt 0", None, None)]
    )
    assert [e.index for e in batch] == [4, 4, 0] and ledger.size() == 5


def test_every_append_signs_a_checkpoint_of_the_new_tree(tmp_path):
    ledger = _fill(tmp_path, 6)
    tree = merkle.MemoryTree(merkle.leaf_hash(f"receipt {i}".encode()) for i in range(6))
    for size in range(1, 7):
        checkpoint = open_checkpoint(ledger.checkpoint_note(size), ledger.verifier_key)
        assert (checkpoint.size, checkpoint.root) == (size, tree.root(size))


def test_proofs_come_from_stored_subtrees_and_verify_against_signed_checkpoints(tmp_path):
    ledger = _fill(tmp_path, 21)
    tree = merkle.MemoryTree(merkle.leaf_hash(f"receipt {i}".encode()) for i in range(21))
    for size in range(1, 22):
        root = open_checkpoint(ledger.checkpoint_note(size), ledger.verifier_key).root
        for index in range(size):
            proof = ledger.inclusion_proof(index, size)
            assert proof == tree.inclusion_proof(index, size)
            merkle.verify_inclusion(index, size, ledger.entry(index).leaf_hash, proof, root)
        for size1 in range(size + 1):
            proof = ledger.consistency_proof(size1, size)
            merkle.verify_consistency(size1, size, tree.root(size1), root, proof)


def test_proof_reads_are_logarithmic(tmp_path):
    ledger = SqliteLedger(tmp_path)
    ledger.append_many((i.to_bytes(4, "big"), None, None) for i in range(5000))
    reads = []
    original = ledger.stored_node
    ledger.stored_node = lambda level, index: reads.append(1) or original(level, index)
    ledger.inclusion_proof(2345, 4999)
    ledger.consistency_proof(1234, 4999)
    assert len(reads) <= 4 * (4999).bit_length()


def test_lookups_by_artifact_and_missing_entries(tmp_path):
    ledger = _fill(tmp_path, 3)
    assert ledger.find(artifact_id="artifact-1").index == 1
    assert ledger.find(artifact_commit=f"sha256:{2:064x}").index == 2
    with pytest.raises(NotInLedger, match="artifact id nope"):
        ledger.find(artifact_id="nope")
    with pytest.raises(NotInLedger):
        ledger.inclusion_proof(0, 4)
    with pytest.raises(NotInLedger):
        SqliteLedger.open_readonly(tmp_path / "elsewhere")


def test_a_ledger_refuses_a_key_it_was_not_started_with(tmp_path):
    _fill(tmp_path, 1).close()
    with pytest.raises(CheckpointError, match="not the key this ledger was started with"):
        SqliteLedger(tmp_path, signer=SignerKey.generate("someone.else/log"))


def test_readonly_ledger_cannot_append(tmp_path):
    _fill(tmp_path, 1).close()
    with SqliteLedger.open_readonly(tmp_path) as ledger, pytest.raises(CheckpointError):
        ledger.append(b"x")


def _append_worker(home: str, worker: int, count: int) -> None:
    ledger = SqliteLedger(home)
    for i in range(count):
        ledger.append(f"worker {worker} receipt {i}".encode())
        if i % 10 == 0:
            ledger.append(b"the receipt every worker appends")
    ledger.close()


def test_four_processes_appending_at_once_lose_nothing_and_leave_no_gaps(tmp_path):
    SqliteLedger(tmp_path).close()  # key and schema exist before the race on the rows
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_worker, args=(str(tmp_path), w, 40)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    ledger = SqliteLedger(tmp_path)
    datas = [e.data for e in ledger.entries()]
    assert [e.index for e in ledger.entries()] == list(range(161))
    expected = {f"worker {w} receipt {i}".encode() for w in range(4) for i in range(40)}
    assert set(datas) == expected | {b"the receipt every worker appends"}
    assert len(datas) == len(set(datas))
    assert audit(ledger, ledger.verifier_key).size == 161


def test_racing_ledger_creation_makes_one_key(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_worker, args=(str(tmp_path), w, 3)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    ledger = SqliteLedger(tmp_path)
    assert audit(ledger, ledger.verifier_key).size == 13


KILLED_MID_APPEND = """
import os, signal, sys
from receiptcore.ledger import checkpoint
from receiptcore.ledger.sqlite import SqliteLedger

ledger = SqliteLedger(sys.argv[1])
for i in range(5):
    ledger.append(b"committed %d" % i)
# die inside the next append: its entry and nodes are written, its checkpoint is being signed
checkpoint.Checkpoint.sign = lambda self, signer: os.kill(os.getpid(), signal.SIGKILL)
ledger.append_many([(b"never committed %d" % i, None, None) for i in range(3)])
"""


def test_a_writer_killed_in_the_middle_of_an_append_leaves_a_log_that_verifies(tmp_path):
    result = subprocess.run([sys.executable, "-c", KILLED_MID_APPEND, str(tmp_path)], check=False)
    assert result.returncode == -signal.SIGKILL
    ledger = SqliteLedger(tmp_path)
    assert [e.data for e in ledger.entries()] == [b"committed %d" % i for i in range(5)]
    assert audit(ledger, ledger.verifier_key).size == 5
    assert ledger.append(b"after the crash").index == 5
    assert audit(ledger, ledger.verifier_key).size == 6


def test_a_writer_killed_at_an_arbitrary_moment_leaves_a_log_that_verifies(tmp_path):
    script = textwrap.dedent("""
        import sys
        from receiptcore.ledger.sqlite import SqliteLedger
        ledger = SqliteLedger(sys.argv[1])
        i = 0
        while True:
            ledger.append_many([(b"%d-%d" % (i, j), None, None) for j in range(50)])
            print(i, flush=True)
            i += 1
    """)
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE)
    for _ in range(5):
        proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    ledger = SqliteLedger(tmp_path)
    report = audit(ledger, ledger.verifier_key)
    assert report.size % 50 == 0 and report.size >= 250


def _edit(home: Path, sql: str, *params: object) -> None:
    """What an attacker with write access to the file does: drop the guard, then edit."""
    db = _raw(home)
    db.execute("DROP TRIGGER IF EXISTS entries_refuse_UPDATE")
    db.execute("DROP TRIGGER IF EXISTS entries_refuse_DELETE")
    db.execute("DROP TRIGGER IF EXISTS nodes_refuse_UPDATE")
    db.execute("DROP TRIGGER IF EXISTS checkpoints_refuse_DELETE")
    db.execute(sql, params)
    db.close()


def test_an_edited_receipt_is_found_and_named(tmp_path):
    _fill(tmp_path, 12).close()
    _edit(tmp_path, "UPDATE entries SET data = ? WHERE idx = 7", b"forged receipt")
    ledger = SqliteLedger(tmp_path)
    with pytest.raises(LedgerCorrupt, match="entry 7: its bytes do not match") as info:
        audit(ledger, ledger.verifier_key)
    assert info.value.index == 7


def test_an_edit_that_also_rewrites_the_leaf_hash_is_named_by_its_checkpoint(tmp_path):
    _fill(tmp_path, 12).close()
    forged = b"forged receipt"
    _edit(
        tmp_path,
        "UPDATE entries SET data = ?, leaf_hash = ? WHERE idx = 9",
        forged,
        merkle.leaf_hash(forged),
    )
    ledger = SqliteLedger(tmp_path)
    with pytest.raises(LedgerCorrupt, match="entry 9: the tree does not match") as info:
        audit(ledger, ledger.verifier_key)
    assert info.value.index == 9


def test_an_edited_subtree_hash_is_found(tmp_path):
    _fill(tmp_path, 12).close()
    _edit(tmp_path, "UPDATE nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 1")
    ledger = SqliteLedger(tmp_path)
    with pytest.raises(LedgerCorrupt, match=r"entries 4\.\.7: the stored subtree hash"):
        audit(ledger, ledger.verifier_key)


def test_removed_entries_are_found(tmp_path):
    _fill(tmp_path, 12).close()
    _edit(tmp_path, "DELETE FROM entries WHERE idx >= 10")
    ledger = SqliteLedger(tmp_path)
    with pytest.raises(LedgerCorrupt, match="covers 11 entries but only 10 are stored"):
        audit(ledger, ledger.verifier_key)


def test_a_checkpoint_signed_by_another_key_fails_the_audit(tmp_path):
    ledger = _fill(tmp_path, 3)
    with pytest.raises(LedgerCorrupt, match="checkpoint at size 1"):
        audit(ledger, SignerKey.generate(ledger.origin).verifier)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=6), st.data())
def test_stored_subtrees_match_a_tree_built_in_memory_for_any_batching(batches, data):
    with tempfile.TemporaryDirectory() as home:
        ledger = SqliteLedger(home)
        tree, n = merkle.MemoryTree(), 0
        for batch in batches:
            items = [(b"entry %d" % (n + i), None, None) for i in range(batch)]
            ledger.append_many(items)
            for item in items:
                tree.append(merkle.leaf_hash(item[0]))
            n += batch
            cp = open_checkpoint(ledger.checkpoint_note(n), ledger.verifier_key)
            assert (cp.size, cp.root) == (n, tree.root())
        for level, row in enumerate(tree.levels):
            for index, h in enumerate(row):
                assert ledger.stored_node(level, index) == h
        size = data.draw(st.integers(1, n))
        index = data.draw(st.integers(0, size - 1))
        assert ledger.inclusion_proof(index, size) == tree.inclusion_proof(index, size)
        old = data.draw(st.integers(0, size))
        assert ledger.consistency_proof(old, size) == tree.consistency_proof(old, size)
        ledger.close()

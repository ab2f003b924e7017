"""A publish killed with SIGKILL at random moments leaves a store and a ledger that verify: every
receipt's bytes present and whole, every object named by its sha256, and no stored tree whose
files are not all in the store."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import textwrap
import time

from receiptcore.errors import ReceiptcoreError
from receiptcore.ledger.audit import audit
from receiptcore.ledger.sqlite import SqliteLedger
from receiptcore.store import LocalStore
from receiptcore.verify import verify

# A publisher that says where it is (one line per step, so the test can kill it at any step),
# publishing a new version of a 24-file tree over and over.
PUBLISHER = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    import receiptcore._core as core
    import receiptcore.store.local as local
    import receiptcore.ledger.sqlite as sqlite
    from receiptcore.publish import publish

    def announce(name, fn):
        def wrapped(*args, **kwargs):
            print(name, flush=True)
            return fn(*args, **kwargs)
        return wrapped

    local.copy_files = announce("copy", core.copy_files)
    local.place_files = announce("place", core.place_files)
    sqlite.SqliteLedger.append = announce("append", sqlite.SqliteLedger.append)
    root, home, start = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    for i in range(start, start + 1000):
        for j in range(24):
            (root / f"shard-{j:02d}.bin").write_bytes(os.urandom(256 << 10) if j % 3 else b"%d" % j)
        (root / "version.txt").write_text(str(i))
        publish(root, artifact_id="model", new_version=True, home=home)
        print("published", flush=True)
""")


def _check(home) -> int:
    """Every invariant a crash must keep; returns how many versions the ledger holds."""
    store = LocalStore(home / "objects")
    trees = 0
    for path in (home / "objects" / "sha256").glob("*/*"):
        commit = "sha256:" + path.parent.name + path.name
        store.verify(commit)  # named by the sha256 of its bytes
        data = path.read_bytes()
        if data.startswith(b'{"files":[') and b'"kind":"tree_manifest"' in data:
            trees += 1
            for entry in json.loads(data)["files"]:
                assert store.exists(entry["sha256"]), f"tree {commit} lacks {entry['path']}"
    if not (home / "ledger.sqlite3").exists():
        return 0
    ledger = SqliteLedger.open_readonly(home)
    audit(ledger, ledger.verifier_key)
    entries = ledger.find_all(artifact_id="model")
    for entry in entries:
        assert verify(artifact_id="model", commit=entry.artifact_commit, home=home).verified
    assert trees >= len(entries)
    return len(entries)


def test_a_publish_killed_at_random_moments_leaves_a_store_and_ledger_that_verify(tmp_path, monkeypatch):
    monkeypatch.setenv("RECEIPTCORE_STATE", str(tmp_path / "state"))
    monkeypatch.delenv("RECEIPTCORE_SIGNING_KEY", raising=False)
    (tmp_path / "model").mkdir()
    home = tmp_path / "home"
    rng = random.Random(12)
    versions = 0
    for _ in range(10):
        child = subprocess.Popen(
            [sys.executable, "-c", PUBLISHER, str(tmp_path / "model"), str(home), str(versions)],
            stdout=subprocess.PIPE, text=True,
        )
        for _ in range(rng.randrange(1, 9)):  # a random step of the next publishes...
            assert child.stdout.readline(), "the publisher stopped by itself"
        time.sleep(rng.uniform(0, 0.05))  # ...and a random moment inside it
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        try:
            versions = _check(home)
        except ReceiptcoreError as error:
            raise AssertionError(f"after a kill: {error}") from error
    assert versions >= 2

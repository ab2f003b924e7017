"""A publisher killed at any write leaves a home that still works, as the SQLite project tests
crash safety: run `publish` in a child that SIGKILLs itself at its N-th write (found by an audit
hook: every file opened for writing, every rename, link, mkdir, chmod and unlink, every SQLite
connection), for N = 1, 2, ... until a run gets through. After each kill: `verify` of the file
says "published" or "not published" (never a broken home: issue 17 #9), publishing again
succeeds, `ledger verify` passes, and no temporary file of the killed run is left in the home.
(The writes the native store does are not seen by the hook: its temporaries are the store's.)

Then the large run: 16 publishers x 250 artifacts, killed at random and restarted, then
`ledger verify`, and every publish a publisher saw acknowledged is in the ledger."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from receiptcore.errors import ExitCode
from support.cli import clean_machine, run

CHILD = textwrap.dedent(
    """
    import os, signal, sys

    kill_at, count = int(sys.argv[1]), 0
    EVENTS = {"os.rename", "os.link", "os.mkdir", "os.chmod", "os.remove", "os.truncate",
              "sqlite3.connect", "shutil.copyfile"}
    WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def hook(event, args):
        global count
        if event == "open":
            mode, flags = args[1], args[2]
            if not (any(c in mode for c in "wax+") if mode else flags & WRITE):
                return
        elif event not in EVENTS:
            return
        count += 1
        if count == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    sys.addaudithook(hook)
    from receiptcore.cli import main
    sys.exit(main(sys.argv[2:]))
    """
)


def receiptcore(env: dict, *argv: str, kill_at: int = 0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(kill_at), *argv],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )


@pytest.fixture
def env(tmp_path, monkeypatch) -> dict:
    """The same clean machine for this process (the checks run in-process, which is quicker)
    and for the children."""
    clean_machine(tmp_path, monkeypatch)
    return {k: v for k, v in os.environ.items() if k != "RECEIPTCORE_SIGNING_KEY"}


def leftovers(home: Path) -> list[str]:
    """Temporary files a killed run left in the home: not objects, keys, the ledger or its lock.
    (The store's own temporaries, under objects/, are the store's: tests/store.)"""
    names = []
    for path in home.rglob("*"):
        name = path.name
        if "objects" in path.relative_to(home).parts:
            continue
        if path.is_file() and name.endswith((".tmp", ".part")):
            names.append(str(path.relative_to(home)))
    return names


@pytest.mark.parametrize("first", [True, False], ids=["first-publish", "later-publish"])
def test_a_publisher_killed_at_any_write_leaves_a_working_home(env, tmp_path, capsys, first):
    if not first:  # a home that exists: keys, trust file and ledger already made
        Path("before.bin").write_bytes(b"published before\n")
        assert run(capsys, "publish", "before.bin", "--no-progress")[0] == 0
    Path("model.bin").write_bytes(os.urandom(1 << 16))
    for kill_at in range(1, 200):
        killed = receiptcore(env, "publish", "model.bin", "--no-progress", kill_at=kill_at)
        if killed.returncode == 0:
            break
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        where = f"killed at write {kill_at}"
        code, _, err = run(capsys, "verify", "model.bin")
        # killed before the home was made, nothing was published yet, or it was
        assert code in (ExitCode.HOME_NOT_FOUND, ExitCode.NOT_IN_LEDGER, ExitCode.OK), (
            f"{where}: verify: {err}"
        )
        code, _, err = run(capsys, "publish", "model.bin", "--no-progress")
        assert code == 0, f"{where}: publish again: {err}"
        assert run(capsys, "verify", "model.bin")[0] == 0, where
        code, _, err = run(capsys, "ledger", "verify")
        assert code == 0, f"{where}: ledger verify: {err}"
        assert leftovers(tmp_path / "home") == [], where
        shutil.rmtree(tmp_path / "home")  # start over for the next kill point
        shutil.rmtree(tmp_path / "state", ignore_errors=True)
        if not first:
            assert run(capsys, "publish", "before.bin", "--no-progress")[0] == 0
    else:
        pytest.fail("publish never got through")
    assert kill_at > 3, "the audit hook saw the writes"


PUBLISHER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from receiptcore.publish import publish

    worker, start, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for i in range(start, count):
        path = Path(f"w{worker}-{i}.bin")
        if not path.exists():
            path.write_bytes(f"artifact {i} of publisher {worker}\\n".encode() * 64)
        publish(path)
        print(path.name, flush=True)  # acknowledged: publish returned
    """
)


def test_many_publishers_killed_at_random_lose_no_acknowledged_publish(env, tmp_path, capsys):
    workers, each = 16, int(os.environ.get("RECEIPTCORE_CRASH_EACH", "250"))
    rng = random.Random(17)
    # Made once, so that the publishers share one signing key and trust file.
    Path("seed.bin").write_bytes(b"seed\n")
    assert run(capsys, "publish", "seed.bin", "--no-progress")[0] == 0
    acknowledged: set[str] = set()
    running: dict[int, subprocess.Popen] = {}
    kills = 0

    def start(worker: int) -> None:
        # a restarted publisher goes on from its first publish not acknowledged
        done = sum(f"w{worker}-{i}.bin" in acknowledged for i in range(each))
        running[worker] = subprocess.Popen(
            [sys.executable, "-c", PUBLISHER, str(worker), str(done), str(each)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )

    for worker in range(workers):
        start(worker)
    while running:
        worker = rng.choice(sorted(running))
        process = running[worker]
        line = process.stdout.readline()
        if line:
            acknowledged.add(line.strip())
            if rng.random() < 0.01:  # a kill at a random moment of the next publish
                process.send_signal(signal.SIGKILL)
                process.wait()
                acknowledged.update(process.stdout.read().split())
                kills += 1
                start(worker)  # restarted: it publishes what it had not yet
            continue
        assert process.wait() == 0
        del running[worker]
    assert kills > 0
    assert len(acknowledged) == workers * each
    code, out, err = run(capsys, "ledger", "verify", "--json")
    assert code == 0, err
    db = sqlite3.connect(f"file:{tmp_path / 'home' / 'ledger.sqlite3'}?mode=ro", uri=True)
    logged = {row[0] for row in db.execute("SELECT artifact_id FROM entries")}
    assert acknowledged <= logged
    assert json.loads(out)["size"] == len(logged)

"""``externalize`` killed with SIGKILL at random moments never leaves a path with neither its
original nor a reference whose artifact is published and verifies; running it again finishes
the job."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

from receiptcore.migrate.externalize import externalize
from receiptcore.migrate.reference import read_reference
from receiptcore.verify import verify
from support.migrate import PLANNED, git_status, make_runtime_repo, snapshot
from support.trees import cli

# An externalizer that says where it is (a line before each step), so that the test can kill
# it at any step, and at a random moment inside one.
EXTERNALIZER = textwrap.dedent("""
    import shutil, sys
    import receiptcore.migrate.externalize as ex
    import receiptcore.migrate.git as git
    import receiptcore.store.local as local

    def announce(name, fn):
        def wrapped(*args, **kwargs):
            print(name, flush=True)
            return fn(*args, **kwargs)
        return wrapped

    for name in ("_publish", "_verify_stored", "write_reference", "_finish"):
        setattr(ex, name, announce(name, getattr(ex, name)))
    for name in ("untrack", "ignore", "stage"):
        setattr(git, name, announce(name, getattr(git, name)))
    local.copy_files = announce("copy", local.copy_files)
    shutil.rmtree = announce("rmtree", shutil.rmtree)
    ex.externalize(sys.argv[1])
    print("done", flush=True)
""")


def _invariant(root, original) -> None:
    """Each planned path: its original bytes whole, or a reference to a verified artifact."""
    for path in PLANNED:
        ref = root / f"{path}.artifact.json"
        if ref.exists():
            reference = read_reference(ref)  # written whole, never half
            verdict = verify(artifact_id=reference.artifact_id, commit=reference.artifact_commit)
            assert verdict.verified, f"{path}: the reference's artifact does not verify"
        else:
            here = {p: h for p, h in snapshot(root).items() if p == path or p.startswith(path + "/")}
            assert here == {p: h for p, h in original.items() if p == path or p.startswith(path + "/")}, (
                f"{path}: neither the original nor a reference"
            )


def _git_settled(root) -> None:
    """A git the killed process started finishes on its own: wait for its index lock to go."""
    deadline = time.monotonic() + 30
    while (root / ".git" / "index.lock").exists():
        assert time.monotonic() < deadline, "a git command never finished"
        time.sleep(0.01)


def test_externalize_killed_at_random_moments_always_leaves_original_or_reference(env, capsys):
    repo = make_runtime_repo(env / "repo", env / "tmp")
    original = snapshot(repo.root)
    rng = random.Random(19)
    kills = 0
    for _ in range(14):
        child = subprocess.Popen(
            [sys.executable, "-c", EXTERNALIZER, str(repo.root)], stdout=subprocess.PIPE, text=True
        )
        steps = rng.randrange(1, 24)
        finished = False
        for _ in range(steps):
            line = child.stdout.readline()
            if not line or line == "done\n":
                finished = True
                break
        if not finished:
            time.sleep(rng.uniform(0, 0.02))  # a random moment inside the step
            child.send_signal(signal.SIGKILL)
            kills += 1
        child.wait()
        child.stdout.close()
        _git_settled(repo.root)
        _invariant(repo.root, original)
        if finished or rng.random() < 0.3:  # start over from the committed assets
            repo.git("reset", "-q", "--hard")
            repo.git("clean", "-q", "-fdx")
    assert kills >= 8
    externalize(repo.root)  # finishes whatever the last kill left
    _invariant(repo.root, original)
    for path in PLANNED:
        assert not os.path.lexists(repo.root / path)
    assert not [line for line in git_status(repo.root).splitlines() if line[1] != " "]
    code, out, _ = cli(capsys, "scan", str(repo.root))
    assert code == 0, out
    assert externalize(repo.root) == []

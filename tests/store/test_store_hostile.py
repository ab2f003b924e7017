"""The store under hostile input (issue 17 items 1, 3 and 5): an object is no more readable than
the file it came from, a symbolic link is published only when asked, a device or FIFO is refused
before a byte is read, a killed publisher's temporaries are swept, and a file rewritten while it
is published is refused (exit 4), leaving nothing in the store or the ledger."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from receiptcore.errors import ExitCode, FileChangedError
from receiptcore.publish import publish
from support.cli import clean_machine, one_error_line, run
from support.nobody import run_as_nobody


@pytest.fixture
def machine(tmp_path, monkeypatch) -> Path:
    return clean_machine(tmp_path, monkeypatch)


def objects(machine: Path) -> list[Path]:
    root = machine / "home" / "objects" / "sha256"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def stored(machine: Path, commit: str) -> Path:
    h = commit.removeprefix("sha256:")
    return machine / "home" / "objects" / "sha256" / h[:2] / h[2:]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize(("source", "expected"), [(0o600, 0o400), (0o640, 0o440), (0o644, 0o444)])
def test_an_object_is_never_more_readable_than_its_source(machine, capsys, source, expected):
    secret = machine / "secret.bin"
    secret.write_bytes(os.urandom(4096))
    secret.chmod(source)
    code, out, err = run(capsys, "publish", "secret.bin", "--json", "--no-progress")
    assert code == 0, err
    obj = stored(machine, json.loads(out)["artifact_commit"])
    assert mode(obj) == expected
    assert mode(machine / "home") & 0o077 == 0  # the home itself is the owner's alone
    if source == 0o600:  # before: 0444 under 0755 folders, a copy anyone could read
        script = (
            "try:\n    open(sys.argv[1], 'rb').read()\n    print('read')\n"
            "except PermissionError:\n    print('refused')"
        )
        assert run_as_nobody("", script, str(obj)).strip() == "refused"


def test_a_symlink_is_published_only_when_asked(machine, capsys):
    (machine / "secret.bin").write_bytes(b"the secret\n")
    (machine / "secret.bin").chmod(0o640)
    os.symlink("secret.bin", machine / "s")
    code, _, err = run(capsys, "publish", "s", "--no-progress")  # before: stored, world-readable
    assert code == ExitCode.NOT_REGULAR_FILE
    assert "is a symbolic link; not followed" in one_error_line(err)
    assert objects(machine) == []
    code, _, err = run(capsys, "publish", "s", "--follow-symlinks", "--no-progress")
    assert code == 0, err
    assert [mode(p) for p in objects(machine) if p.read_bytes() == b"the secret\n"] == [0o440]


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_a_device_or_fifo_is_refused_before_a_byte_is_read(machine, special):
    if special == "fifo":
        os.mkfifo(machine / "fifo")
    result = subprocess.run(  # before: 2 GB in objects/tmp in seconds (/dev/zero), or a hang
        [sys.executable, "-m", "receiptcore.cli", "publish", special, "--no-progress"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == ExitCode.NOT_REGULAR_FILE, result.stderr
    assert "not a regular file" in one_error_line(result.stderr)
    tmp = machine / "home" / "objects" / "tmp"
    assert not tmp.exists() or os.listdir(tmp) == []


def test_the_temporaries_of_killed_publishers_are_swept(machine, capsys):
    (machine / "a.bin").write_bytes(b"a\n")
    assert run(capsys, "publish", "a.bin", "--no-progress")[0] == 0
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # a process id that no longer runs
    tmp = machine / "home" / "objects" / "tmp"
    tmp.mkdir(exist_ok=True)
    left = tmp / f"{child.pid}.0123456789abcdef.0"
    left.write_bytes(b"\0" * 65536)  # what a publisher killed mid-copy leaves
    mine = tmp / f"{os.getpid()}.fedcba9876543210.0"
    mine.write_bytes(b"in progress")  # a publisher still at work keeps its own
    (machine / "b.bin").write_bytes(b"b\n")
    assert run(capsys, "publish", "b.bin", "--no-progress")[0] == 0
    assert not left.exists() and mine.exists()


def test_a_file_rewritten_while_it_is_published_is_refused(machine, capsys):
    path = machine / "model.bin"
    with open(path, "wb") as f:  # 256 MiB, sparse: long enough to be rewritten mid-copy
        f.write(b"old head")
        f.truncate(1 << 28)
    os.utime(path, (1_000_000_000, 1_000_000_000))  # the rewrite's mtime differs, however fast

    def rewrite_once(done, total, files, count):
        if 0 < done < total and not rewrite_once.done:
            rewrite_once.done = True
            with open(path, "r+b") as f:  # same size, new tail: head old, tail new
                f.seek((1 << 28) - 8)
                f.write(b"new tail")

    rewrite_once.done = False
    with pytest.raises(FileChangedError):  # before: exit 0, a torn object recorded
        publish(path, progress=rewrite_once)
    assert rewrite_once.done
    assert objects(machine) == []
    assert not (machine / "home" / "ledger.sqlite3").exists() or (
        run(capsys, "verify", "model.bin")[0] == ExitCode.NOT_IN_LEDGER
    )

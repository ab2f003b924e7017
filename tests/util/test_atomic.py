"""Atomic writes: whole or absent, and the temporaries of killed writers swept away."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from receiptcore.util.atomic import create_file, replace_file, sweep_temporaries


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_the_temporaries_of_processes_that_are_gone_are_swept(tmp_path):
    gone, alive = dead_pid(), os.getpid()
    names = {
        f".trust.json.{gone}.a1b2c3.tmp": False,  # a writer killed mid-write
        f".signing.key.{gone}.x_y.tmp": False,  # killed after linking it into place
        f".trust.json.{alive}.d4e5f6.tmp": True,  # a writer still at work
        ".hidden.tmp": True,  # not ours
        f"trust.json.{gone}.a.tmp": True,  # not a temporary of ours (no leading dot)
        "trust.json": True,
    }
    for name in names:
        (tmp_path / name).write_text("x")
    sweep_temporaries(tmp_path)
    assert sorted(os.listdir(tmp_path)) == sorted(n for n, kept in names.items() if kept)


def test_the_next_write_in_a_folder_sweeps_it(tmp_path):
    left = tmp_path / f".trust.json.{dead_pid()}.abc.tmp"
    left.write_text("half")
    replace_file(tmp_path / "other.json", b"{}")
    assert not left.exists() and (tmp_path / "other.json").read_bytes() == b"{}"


def test_a_writer_killed_mid_write_leaves_the_target_absent_and_its_temporary_swept(tmp_path):
    script = (
        "import os, signal, sys\n"
        "from receiptcore.util import atomic\n"
        "os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)\n"
        "atomic.create_file(sys.argv[1], b'secret', 0o600)\n"
    )
    killed = subprocess.run([sys.executable, "-c", script, str(tmp_path / "key")], check=False)
    assert killed.returncode == -signal.SIGKILL
    [temporary] = os.listdir(tmp_path)
    assert temporary.startswith(".key.") and not (tmp_path / "key").exists()
    create_file(tmp_path / "key", b"whole", 0o600)
    assert os.listdir(tmp_path) == ["key"] and (tmp_path / "key").read_bytes() == b"whole"
    with pytest.raises(FileExistsError):
        create_file(tmp_path / "key", b"again", 0o600)

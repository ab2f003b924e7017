"""The home is found as git finds .git; it is made with a .gitignore of '*', so keys and state
never land in a repository; a recreated ledger is refused with the one command that forgets it."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from receiptcore.util.home import home_dir
from support.trees import cli


@pytest.fixture
def bare(tmp_path, monkeypatch):
    """No $RECEIPTCORE_HOME: the home is looked for from the current folder up."""
    for var in ("RECEIPTCORE_HOME", "RECEIPTCORE_SIGNING_KEY", "RECEIPTCORE_TRUST"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RECEIPTCORE_STATE", str(tmp_path / "state"))
    (tmp_path / "repo" / "sub").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "repo")
    return tmp_path


def test_publish_in_a_repository_stages_nothing_from_the_home(bare, capsys):
    repo = bare / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "model.bin").write_bytes(b"weights")
    assert cli(capsys, "publish", "model.bin", "--no-progress")[0] == 0
    assert (repo / ".receiptcore" / ".gitignore").read_text() == "*\n"
    assert (repo / ".receiptcore" / "signing.key").exists()
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    staged = subprocess.run(
        ["git", "-C", str(repo), "diff", "--cached", "--name-only"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    assert staged == ["model.bin"]


def test_the_nearest_home_above_is_found(bare, capsys, monkeypatch):
    (bare / "repo" / "model.bin").write_bytes(b"weights")
    assert cli(capsys, "publish", "model.bin", "--no-progress")[0] == 0
    monkeypatch.chdir(bare / "repo" / "sub")
    assert home_dir() == bare / "repo" / ".receiptcore"
    code, out, _ = cli(capsys, "verify", "model.bin", "--no-progress")
    assert code == 0 and out.startswith("verified model.bin")


def test_no_home_anywhere_says_where_it_looked(bare, capsys, monkeypatch):
    monkeypatch.chdir(bare / "repo" / "sub")
    code, _, err = cli(capsys, "verify", "model.bin", "--no-progress")
    assert code == 19, err
    assert f"{bare}/repo/sub/.receiptcore, {bare}/repo/.receiptcore, {bare}/.receiptcore" in err
    assert "$RECEIPTCORE_HOME is unset" in err
    code, _, err = cli(capsys, "verify", "model.bin", "--home", str(bare / "nowhere"))
    assert code == 19 and "(from --home)" in err


def test_a_ledger_deleted_and_recreated_is_refused_with_the_command_that_forgets_it(bare, capsys):
    (bare / "repo" / "model.bin").write_bytes(b"weights")
    assert cli(capsys, "publish", "model.bin", "--no-progress")[0] == 0
    assert cli(capsys, "verify", "model.bin", "--no-progress")[0] == 0  # pins the ledger key
    shutil.rmtree(bare / "repo" / ".receiptcore")
    assert cli(capsys, "publish", "model.bin", "--no-progress")[0] == 0
    code, _, err = cli(capsys, "verify", "model.bin", "--no-progress")
    assert code == 13, err
    command = err.rsplit("forget the old pin with: ", 1)[1].strip()
    assert command == f"receiptcore ledger forget --ledger {bare}/repo/.receiptcore"
    code, out, _ = cli(capsys, *command.split()[1:])
    assert code == 0 and "forgot the pinned key" in out
    assert cli(capsys, "verify", "model.bin", "--no-progress")[0] == 0
    code, out, _ = cli(capsys, *command.split()[1:])
    assert code == 0 and "nothing to forget" not in out  # pinned again by that verify

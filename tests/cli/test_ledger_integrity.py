"""The integrity failures of issue 17 (items 6, 7 and 8), each on a real SQLite ledger damaged as an
attacker or a crash would damage it: one line on stderr and the exit code of its cause, in
``--mode warn`` too where the ledger cannot be read at all.

- ``ledger verify`` is as strict as ``verify``: a rolled-back or forked ledger fails against the
  checkpoint this verifier remembers (14), entries that no signed checkpoint covers fail (13);
- a truncated or overwritten database file is a corrupt ledger (15), never a traceback; an empty
  one holds no ledger yet (11), as a missing one; readers open it read-only and write nothing;
- but to a verifier that trusted a checkpoint of N > 0 entries, a ledger deleted, emptied or
  replaced by a fresh one is a rollback (14), reported and carried on in ``--mode warn``;
- the remembered checkpoint moves only when every check passed; an artifact missing because the
  ledger was rolled back is a rollback (14), because entries under a signed checkpoint were
  deleted a corrupt ledger (15), and only otherwise "not in the ledger" (11).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from receiptcore.cli import main
from receiptcore.errors import ExitCode
from receiptcore.ledger.sqlite import DB_FILE, SqliteLedger
from support.cli import clean_machine, one_error_line, run


@pytest.fixture
def machine(tmp_path, monkeypatch) -> Path:
    return clean_machine(tmp_path, monkeypatch)


def publish(capsys, name: str) -> None:
    Path(name).write_text(f"the bytes of {name}\n")
    assert run(capsys, "publish", name, "--no-progress")[0] == 0


def db_path(machine: Path) -> Path:
    return machine / "home" / DB_FILE


def writable_db(machine: Path) -> sqlite3.Connection:
    """The ledger as an attacker with write access to its file sees it: guards dropped."""
    db = sqlite3.connect(db_path(machine), isolation_level=None)
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        db.execute(f"DROP TRIGGER {name}")
    return db


def restore(machine: Path, backup: Path) -> None:
    """The ledger folder replaced by an older copy of it (its WAL files included)."""
    shutil.rmtree(machine / "home")
    shutil.copytree(backup, machine / "home")


def pinned_size(machine: Path) -> int:
    [path] = (machine / "state" / "ledgers").glob("*.json")
    return int(json.loads(path.read_text())["checkpoint"].split("\n")[1])


# --- 6: ledger verify is as strict as verify ------------------------------------------------


def test_ledger_verify_refuses_a_ledger_rolled_back_behind_what_it_trusted(machine, capsys):
    publish(capsys, "a.bin")
    shutil.copytree(machine / "home", machine / "backup")
    publish(capsys, "b.bin")
    assert run(capsys, "ledger", "verify")[0] == 0  # this verifier trusts size 2
    restore(machine, machine / "backup")
    code, _, err = run(capsys, "ledger", "verify")
    assert code == ExitCode.ROLLBACK
    assert "rolled back: it now has 1 entries" in one_error_line(err)


def test_ledger_verify_refuses_a_fork_it_did_not_see_grow(machine, capsys):
    publish(capsys, "a.bin")
    shutil.copytree(machine / "home", machine / "backup")
    publish(capsys, "b.bin")
    assert run(capsys, "ledger", "verify")[0] == 0
    restore(machine, machine / "backup")
    publish(capsys, "other.bin")  # same size as before, another history, same ledger key
    publish(capsys, "more.bin")
    code, _, err = run(capsys, "ledger", "verify")
    assert code == ExitCode.ROLLBACK and "forked" in one_error_line(err)
    assert pinned_size(machine) == 2  # and the fork is not trusted from now on


def test_ledger_verify_refuses_entries_no_signed_checkpoint_covers(machine, capsys):
    publish(capsys, "a.bin")
    publish(capsys, "b.bin")
    db = writable_db(machine)
    # an entry slipped in by someone who can write the database but has no ledger key: the
    # stored subtree hashes are consistent with it, only a signed checkpoint is missing
    data, artifact_id, commit = db.execute(
        "SELECT data, artifact_id, artifact_commit FROM entries WHERE idx = 1").fetchone()
    data += b" "  # the same receipt, still valid JSON, another leaf
    leaf = hashlib.sha256(b"\x00" + data).digest()
    db.execute("INSERT INTO entries VALUES (2, ?, ?, ?, ?)", (leaf, data, artifact_id, commit))
    db.close()
    code, _, err = run(capsys, "ledger", "verify")
    assert code == ExitCode.CHECKPOINT
    assert "entry 2: no signed checkpoint covers it" in one_error_line(err)


# --- 7: a database that cannot be read is a corrupt ledger, read-only -------------------------


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def garbage(path: Path) -> None:
    path.write_bytes(hashlib.sha256(b"noise").digest() * 512)


def flipped_pages(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for page in range(1, len(data) // 4096):  # every page but the header's
        data[page * 4096 : page * 4096 + 64] = b"\xa5" * 64
    path.write_bytes(bytes(data))


def emptied(path: Path) -> None:
    path.write_bytes(b"")


@pytest.fixture(scope="module")
def forty(tmp_path_factory) -> Path:
    """A home with 40 entries (a few pages of entries and subtree hashes), made once."""
    root = tmp_path_factory.mktemp("forty")
    with pytest.MonkeyPatch.context() as monkeypatch:
        clean_machine(root, monkeypatch)
        for i in range(40):
            name = root / f"{'a' if i == 0 else i}.bin"
            name.write_text(f"the bytes of {name.name}\n")
            assert main(["publish", str(name), "--no-progress"]) == 0
    return root


DAMAGE = {"truncated": truncated, "not-a-database": garbage, "pages-overwritten": flipped_pages,
          "zero-bytes": emptied}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("argv", [
    ["verify", "a.bin"],
    ["verify", "a.bin", "--mode", "warn"],
    ["verify", "a.bin", "--mode", "warn", "--json"],
    ["ledger", "verify"],
    ["ledger", "show"],
    ["publish", "new.bin", "--no-progress"],
], ids=lambda argv: "-".join(a.lstrip("-") for a in argv))
def test_a_damaged_database_is_one_line_and_its_code_never_a_traceback(
    machine, capsys, damage, argv, forty
):
    shutil.copytree(forty, machine, dirs_exist_ok=True)
    Path("new.bin").write_text("new\n")
    for suffix in ("-wal", "-shm"):
        Path(f"{db_path(machine)}{suffix}").unlink(missing_ok=True)
    DAMAGE[damage](db_path(machine))
    before = db_path(machine).read_bytes()
    code, out, err = run(capsys, *argv)
    assert "Traceback" not in err
    # an empty file holds no ledger yet (a first publish killed before its schema was written
    # leaves one): a writer starts the ledger there, readers find no receipt in it
    expected = ExitCode.NOT_IN_LEDGER if damage == "zero-bytes" else ExitCode.LEDGER_CORRUPT
    if argv[0] == "publish" and damage == "zero-bytes":
        assert code == ExitCode.OK, err
    elif "warn" in argv:
        assert code == ExitCode.OK and "NOT verified (mode=warn" in err
        if "--json" in argv:
            assert json.loads(out)["error"]["exit_code"] == expected
    else:
        assert code == expected, err
        message = one_error_line(err)
        assert "is not a receiptcore ledger, or is damaged" in message or "it is empty" in message
    if argv[0] != "publish":
        assert db_path(machine).read_bytes() == before  # readers write nothing, even to a 0-byte file


def test_readers_open_the_database_read_only(machine, capsys):
    publish(capsys, "a.bin")
    for suffix in ("-wal", "-shm"):
        Path(f"{db_path(machine)}{suffix}").unlink(missing_ok=True)
    before = db_path(machine).read_bytes()
    for argv in (["verify", "a.bin"], ["ledger", "verify"], ["ledger", "show"], ["ledger", "proof", "0"]):
        assert run(capsys, *argv)[0] == 0, argv
    assert db_path(machine).read_bytes() == before


# --- 8: one exit code per cause, the pin moves only on full success ---------------------------


def test_the_pin_does_not_move_when_the_digest_check_then_fails(machine, capsys):
    publish(capsys, "a.bin")
    assert run(capsys, "verify", "a.bin")[0] == 0
    assert pinned_size(machine) == 1
    publish(capsys, "b.bin")
    Path("b.bin").write_text("changed after publishing\n")
    for mode in ("enforce", "warn"):
        code, _, _ = run(capsys, "verify", "b.bin", "--artifact-id", "b.bin", "--mode", mode)
        assert code == (ExitCode.DIGEST_MISMATCH if mode == "enforce" else ExitCode.OK)
        assert pinned_size(machine) == 1  # the checkpoint at 2 was not trusted: a check failed
    publish(capsys, "c.bin")
    assert run(capsys, "verify", "c.bin")[0] == 0
    assert pinned_size(machine) == 3


@pytest.mark.parametrize("by", ["file", "id"])
def test_entries_deleted_under_a_larger_checkpoint_are_a_corrupt_ledger(machine, capsys, by):
    for name in ("a.bin", "b.bin", "c.bin"):
        publish(capsys, name)
    writable_db(machine).execute("DELETE FROM entries WHERE idx >= 1")
    if by == "id":
        Path("c.bin").rename("elsewhere.bin")  # `verify c.bin` now names the artifact id
    code, _, err = run(capsys, "verify", "c.bin")
    assert code == ExitCode.LEDGER_CORRUPT
    assert "covers 3 entries but only 1 are stored" in one_error_line(err)


@pytest.mark.parametrize("by", ["file", "id"])
def test_an_artifact_in_a_rolled_back_tail_is_a_rollback_not_unpublished(machine, capsys, by):
    publish(capsys, "a.bin")
    shutil.copytree(machine / "home", machine / "backup")
    publish(capsys, "b.bin")
    assert run(capsys, "verify", "b.bin")[0] == 0  # trusted at size 2
    restore(machine, machine / "backup")
    if by == "id":
        Path("b.bin").rename("elsewhere.bin")
    code, _, err = run(capsys, "verify", "b.bin")
    assert code == ExitCode.ROLLBACK
    assert "rolled back: it now has 1 entries" in one_error_line(err)


def test_an_artifact_never_published_is_still_not_in_the_ledger(machine, capsys):
    publish(capsys, "a.bin")
    assert run(capsys, "verify", "a.bin")[0] == 0
    Path("never.bin").write_text("never published\n")
    for argv in (["verify", "never.bin"], ["verify", "never-published-id"]):
        code, _, err = run(capsys, *argv)
        assert code == ExitCode.NOT_IN_LEDGER, err


# --- 8: a ledger that holds nothing is a rollback to a verifier that trusted some of it ---------


def deleted(home: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{home / DB_FILE}{suffix}").unlink(missing_ok=True)


def zero_bytes(home: Path) -> None:
    deleted(home)
    (home / DB_FILE).write_bytes(b"")


def fresh(home: Path) -> None:
    """A new ledger started in its place, with the same ledger key, holding no entry."""
    deleted(home)
    SqliteLedger(home).close()


def fresh_with_a_new_key(home: Path) -> None:
    """The same, with its keys made anew too (the key is not the one pinned)."""
    deleted(home)
    for name in ("ledger.key", "ledger.vkey"):
        (home / name).unlink()
    SqliteLedger(home).close()


EMPTIED = {"deleted": deleted, "zero-bytes": zero_bytes, "fresh": fresh,
           "fresh-with-a-new-key": fresh_with_a_new_key}
FOUND = {"deleted": "there is no ", "zero-bytes": "is empty (it holds no ledger)",
         "fresh": "it now holds no entry", "fresh-with-a-new-key": "it now holds no entry"}


def ledger_files(home: Path) -> bytes | None:
    """The database file's bytes, None if there is none (SQLite's -wal and -shm beside it are
    its own: a reader of a WAL database may make them, as every reader does)."""
    path = home / DB_FILE
    return path.read_bytes() if path.exists() else None


@pytest.fixture
def trusted_at_two(machine, capsys) -> Path:
    """Two entries published; this verifier (state in ``pins/``, given with --state) trusts the
    checkpoint at size 2. Returns the state folder."""
    publish(capsys, "a.bin")
    publish(capsys, "b.bin")
    assert run(capsys, "verify", "a.bin", "--state", "pins")[0] == 0
    return machine / "pins"


@pytest.mark.parametrize("emptied", sorted(EMPTIED))
@pytest.mark.parametrize("argv, by_id", [
    (["verify", "a.bin"], False),
    (["verify", "a.bin"], True),
    (["ledger", "verify"], False),
    (["ledger", "show"], False),
], ids=["verify-file", "verify-id", "ledger-verify", "ledger-show"])
def test_a_ledger_emptied_behind_a_pin_is_a_rollback(
    machine, capsys, trusted_at_two, emptied, argv, by_id
):
    pin = {p.name: p.read_bytes() for p in (trusted_at_two / "ledgers").glob("*.json")}
    if by_id:
        Path("a.bin").rename("elsewhere.bin")  # `verify a.bin` now names the artifact id
    EMPTIED[emptied](machine / "home")
    before = ledger_files(machine / "home")
    code, _, err = run(capsys, *argv, "--state", "pins")
    assert code == ExitCode.ROLLBACK, err
    message = one_error_line(err)
    assert "ledger rolled back: this verifier trusted a signed checkpoint of 2 entries" in message
    assert FOUND[emptied] in message
    assert f"receiptcore ledger forget --ledger {(machine / 'home').resolve()} --state pins" in message
    assert ledger_files(machine / "home") == before  # a deleted ledger is not created, nor written
    assert {p.name: p.read_bytes() for p in (trusted_at_two / "ledgers").glob("*.json")} == pin


@pytest.mark.parametrize("emptied", sorted(EMPTIED))
def test_warn_mode_reports_the_rollback_and_carries_on(machine, capsys, trusted_at_two, emptied):
    EMPTIED[emptied](machine / "home")
    before = ledger_files(machine / "home")
    code, out, err = run(capsys, "verify", "a.bin", "--state", "pins", "--mode", "warn", "--json")
    assert code == ExitCode.OK
    assert "NOT verified (mode=warn, exit 0): ledger rolled back" in err and "Traceback" not in err
    verdict = json.loads(out)
    assert verdict["verified"] is False
    assert verdict["error"]["exit_code"] == ExitCode.ROLLBACK
    assert ledger_files(machine / "home") == before


@pytest.mark.parametrize("emptied", ["deleted", "zero-bytes", "fresh"])
@pytest.mark.parametrize("argv", [["verify", "a.bin"], ["ledger", "verify"]], ids="-".join)
def test_without_a_pin_no_ledger_is_still_not_in_the_ledger(machine, capsys, emptied, argv):
    publish(capsys, "a.bin")  # publishing pins nothing: only a verifier does
    EMPTIED[emptied](machine / "home")
    before = ledger_files(machine / "home")
    code, _, err = run(capsys, *argv, "--state", "pins")
    assert code == ExitCode.NOT_IN_LEDGER, err
    one_error_line(err)
    assert ledger_files(machine / "home") == before
    assert not (machine / "pins").exists()  # nothing remembered from a ledger that is not there


def test_the_forget_command_it_names_clears_the_pin_of_a_deleted_ledger(
    machine, capsys, trusted_at_two
):
    deleted(machine / "home")
    code, _, err = run(capsys, "verify", "a.bin", "--state", "pins")
    assert code == ExitCode.ROLLBACK
    command = one_error_line(err).rsplit("forget the pin with: ", 1)[1].split()
    assert command[:3] == ["receiptcore", "ledger", "forget"]
    assert run(capsys, *command[1:])[0] == 0  # the ledger is gone, its pin can still be dropped
    assert not list((trusted_at_two / "ledgers").glob("*.json"))
    code, _, err = run(capsys, "verify", "a.bin", "--state", "pins")
    assert code == ExitCode.NOT_IN_LEDGER, err  # a verifier with no pin: as at first use
    assert not (machine / "home" / DB_FILE).exists()

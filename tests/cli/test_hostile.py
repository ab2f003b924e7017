"""The rough edges of issue 17, each with the exact command that used to print a traceback, hang,
or exit with the wrong code: now one line on stderr and a documented exit code."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from receiptcore.errors import ExitCode
from support.cli import clean_machine, one_error_line, run


@pytest.fixture
def machine(tmp_path, monkeypatch):
    return clean_machine(tmp_path, monkeypatch)


def publish(capsys, name: str = "model.bin") -> None:
    with open(name, "w") as f:
        f.write(f"bytes of {name}\n")
    assert run(capsys, "publish", name, "--no-progress")[0] == 0


@pytest.mark.parametrize("argv", [
    ["hash", "--threads", "-1", "x"],
    ["hash", "--threads", "0", "x"],
    ["ledger", "show", "99999999999999999999"],
    ["ledger", "proof", "-3"],
])
def test_out_of_range_numbers_are_usage_errors(machine, argv, capsys):
    code, _, err = run(capsys, *argv)
    assert code == ExitCode.USAGE and "must be from" in err and "Traceback" not in err


def test_a_ledger_key_file_that_is_not_text(machine, capsys):
    publish(capsys)
    (machine / "garbage.key").write_bytes(b"\xff\xfe\x00garbage")
    code, _, err = run(capsys, "verify", "model.bin", "--ledger-key", "garbage.key")
    assert code == ExitCode.CHECKPOINT
    assert one_error_line(err) == "receiptcore: error: garbage.key: not a key (the file is not UTF-8 text)"


def test_a_ledger_key_path_that_does_not_exist_is_a_missing_file(machine, capsys):
    publish(capsys)
    code, _, err = run(capsys, "verify", "model.bin", "--ledger-key", "typo.vkey")
    assert code == ExitCode.IO
    assert one_error_line(err) == "receiptcore: error: typo.vkey: No such file or directory"


@pytest.mark.parametrize("target", ["./typo.bin", "/nonexistent/model.bin", "../x.bin"])
def test_a_path_that_does_not_exist_is_a_missing_file_not_an_artifact_id(machine, target, capsys):
    publish(capsys)
    code, _, err = run(capsys, "verify", target)
    assert code == ExitCode.IO
    assert one_error_line(err) == f"receiptcore: error: {target}: No such file or directory"


def test_missing_files_are_named_without_python_s_errno(machine, capsys):
    code, _, err = run(capsys, "hash", "absent.bin")
    assert code == ExitCode.IO
    assert one_error_line(err) == "receiptcore: error: absent.bin: No such file or directory"


def test_hashing_an_empty_directory_says_so(machine, capsys):
    (machine / "emptydir").mkdir()
    code, out, err = run(capsys, "hash", "emptydir/")
    assert (code, out) == (ExitCode.USAGE, "")
    assert "emptydir/: no file to hash" in one_error_line(err)


def test_a_manifest_of_an_empty_corpus_is_refused(machine, capsys):
    (machine / "corpus").mkdir()
    code, _, err = run(capsys, "manifest", "dataset", "corpus", "--source", "s3://b/c",
                       "--license", "MIT", "--owner", "me")
    assert code == ExitCode.USAGE and "no file in the corpus" in one_error_line(err)


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--license", "not a license", "not an SPDX license expression"),
    ("--license", "MIT AND", "not an SPDX license expression"),
    ("--source", "htps://bucket/x", "unknown URI scheme 'htps'"),
])
def test_a_manifest_with_a_bad_license_or_uri_is_refused(machine, flag, value, message, capsys):
    (machine / "corpus").mkdir()
    (machine / "corpus" / "a.txt").write_text("a")
    argv = {"--source": "s3://bucket/corpus", "--license": "CC-BY-4.0", "--owner": "me"}
    argv[flag] = value
    code, _, err = run(capsys, "manifest", "dataset", "corpus", *[x for kv in argv.items() for x in kv])
    assert code == ExitCode.INVALID_DOCUMENT and message in one_error_line(err)


def test_a_receipt_whose_uri_is_not_a_uri_is_refused(machine, capsys):
    from support.contract_examples import BUILD

    (machine / "build.json").write_text(json.dumps(BUILD))
    assert run(capsys, "keys", "generate", "ci.key")[0] == 0
    code, _, err = run(capsys, "receipt", "sign", "--build-manifest", "build.json", "--artifact-id",
                       "support-docs-index", "--uri", "not a uri", "--key", "ci.key", "--out", "r.json")
    assert code == ExitCode.INVALID_DOCUMENT and "not a URI" in one_error_line(err)
    assert not (machine / "r.json").exists()


def test_a_manifest_with_schema_version_1_0_is_refused(machine, capsys):
    from support.contract_examples import BUILD

    document = json.dumps(BUILD).replace('"schema_version": 1', '"schema_version": 1.0')
    (machine / "build.json").write_text(document)
    code, _, err = run(capsys, "manifest", "commit", "build.json")
    assert code == ExitCode.INVALID_DOCUMENT and "not 1.0" in one_error_line(err)


def test_ledger_show_of_a_corrupt_entry_names_it(machine, capsys):
    publish(capsys)
    db = sqlite3.connect(machine / "home" / "ledger.sqlite3", isolation_level=None)
    db.execute("DROP TRIGGER entries_refuse_UPDATE")
    db.execute("UPDATE entries SET data = ? WHERE idx = 0", (b"{not json",))
    db.close()
    code, _, err = run(capsys, "ledger", "show", "0")
    assert code == ExitCode.LEDGER_CORRUPT
    assert one_error_line(err).startswith("receiptcore: error: ledger entry 0: not valid JSON")


@pytest.mark.parametrize("state", [
    '{"vkey": 1, "checkpoint": []}', '[]', '{"vkey": "x"}', "\xff", "",
])
def test_a_verifier_state_file_of_the_wrong_shape_is_a_checkpoint_error(machine, state, capsys):
    publish(capsys)
    assert run(capsys, "verify", "model.bin")[0] == 0
    [path] = (machine / "state" / "ledgers").glob("*.json")
    path.write_bytes(state.encode("utf-8", "surrogateescape") if state != "\xff" else b"\xff")
    code, _, err = run(capsys, "verify", "model.bin")
    assert code == ExitCode.CHECKPOINT and "unreadable verifier state" in one_error_line(err)


# --- FIFOs, devices, oversized documents --------------------------------------------------------


def cli(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "receiptcore.cli", *argv], capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.mark.parametrize("argv", [
    ["receipt", "show", "{p}"],
    ["keys", "show", "{p}"],
    ["manifest", "commit", "{p}"],
    ["verify", "model.bin", "--trust", "{p}"],
    ["verify", "model.bin", "--ledger-key", "{p}"],
])
def test_a_fifo_where_a_document_is_read_is_refused_not_waited_on(machine, argv, capsys):
    publish(capsys)
    os.mkfifo(machine / "p")
    result = cli(*[a.format(p="p") for a in argv], timeout=30)  # before: hung forever
    assert result.returncode == ExitCode.NOT_REGULAR_FILE, result.stderr
    assert one_error_line(result.stderr) == "receiptcore: error: p: a FIFO (named pipe), not a regular file; not read"


@pytest.mark.parametrize("argv", [
    ["receipt", "show", "/dev/zero"],
    ["verify", "model.bin", "--trust", "/dev/zero"],
])
def test_a_device_where_a_document_is_read_is_refused(machine, argv, capsys):
    publish(capsys)
    code, _, err = run(capsys, *argv)  # before: read until memory ran out
    assert code == ExitCode.NOT_REGULAR_FILE and "a device, not a regular file" in one_error_line(err)


def test_an_envelope_with_300000_signatures_is_refused_before_any_is_checked(machine, monkeypatch, capsys):
    """Issue 17 #4: 300,000 bad signatures under a trusted key id cost 37 s of Ed25519."""
    from receiptcore.contracts import Envelope, validate
    from receiptcore.signing import dsse
    from receiptcore.signing.keys import SigningKey
    from receiptcore.signing.trust import Trust

    key = SigningKey.generate()
    signature = {"keyid": key.keyid, "sig": "A" * 86 + "=="}
    envelope = validate(Envelope, {"payload": "e30=", "payloadType": "application/vnd.in-toto+json",
                                   "signatures": [signature] * 300_000})
    checked = []
    monkeypatch.setattr(dsse, "b64decode_strict", lambda *a: checked.append(a) or b"")
    from receiptcore.errors import LimitExceeded

    with pytest.raises(LimitExceeded, match="300000 signatures; at most 16"):
        dsse.verify_payload(envelope, Trust.of((key.public_key, "ci")))
    assert checked == []
    # and the file form is refused by its size before it is even parsed
    (machine / "many.json").write_text(json.dumps(envelope.to_json_obj()))
    code, _, err = run(capsys, "receipt", "show", "many.json")
    assert code == ExitCode.LIMIT_EXCEEDED and "a receipt is read only up to" in one_error_line(err)


def test_a_document_behind_a_symlink_is_read_only_when_asked(machine, capsys):
    assert run(capsys, "keys", "generate", "ci.key")[0] == 0
    os.symlink("ci.key.pub", machine / "link.pub")
    code, _, err = run(capsys, "keys", "show", "link.pub")
    assert code == ExitCode.NOT_REGULAR_FILE and "symbolic link" in one_error_line(err)
    assert run(capsys, "keys", "show", "link.pub", "--follow-symlinks")[0] == 0

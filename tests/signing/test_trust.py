"""The trust file, version 2: roles and revocations; version 1 still read; read safely."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from receiptcore.errors import KeyRevoked, LimitExceeded, NotRegularFile, TrustFileError
from receiptcore.signing.keys import SigningKey, keyid_of
from receiptcore.signing.trust import (
    Trust,
    add_trusted_key,
    format_time,
    load_trust,
    parse_time,
    revoke_key,
)
from support.contract_examples import TRUST, TRUST_V2, fresh

KEY = bytes(32)  # TRUST's and TRUST_V2's receipts key
LEDGER_KEY = bytes([0x11]) * 32


def write(tmp_path, document) -> str:
    path = tmp_path / "trust.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_a_version_1_file_still_loads_every_key_a_receipts_key(tmp_path):
    trust = load_trust(write(tmp_path, TRUST))
    assert trust.keys == {keyid_of(KEY): KEY}
    assert trust.ledger_keys == () and trust.revocations == {}


def test_version_2_separates_receipt_keys_from_the_ledger_key(tmp_path):
    trust = load_trust(write(tmp_path, TRUST_V2))
    assert trust.public_key(keyid_of(KEY)) == KEY
    assert trust.public_key(keyid_of(LEDGER_KEY)) is None  # a ledger key signs no receipt
    assert trust.ledger_keys == (("receiptcore.local/5be1a2c39e7d0f44", LEDGER_KEY),)
    revocation = trust.revocations[keyid_of(KEY)]
    assert (revocation.moment, revocation.reason) == ("2026-11-01T00:00:00Z", "laptop stolen")


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["revocations"][0].update(keyid="ab" * 32), "no receipts key with that id"),
    (lambda d: d["revocations"][0].update(keyid=d["keys"][1]["keyid"]), "no receipts key"),
    (lambda d: d["revocations"][0].update({"from": "2026-13-45T00:00:00Z"}), "not a moment"),
    (lambda d: d["revocations"][0].update({"from": "2026-11-01 00:00:00"}), "revocations"),
    (lambda d: d["revocations"].append(dict(d["revocations"][0])), "revoked twice"),
    (lambda d: d["keys"][1].update(name="has space"), "no spaces"),
    (lambda d: d["keys"][1].update(role="admin"), "role"),
    (lambda d: d.update(schema_version=2.0), "integer"),
    (lambda d: d.pop("revocations"), "revocations"),
])
def test_a_broken_version_2_file_is_a_trust_file_error(tmp_path, change, message):
    document = fresh(TRUST_V2)
    change(document)
    with pytest.raises(TrustFileError, match=message):
        load_trust(write(tmp_path, document))


def test_revocation_refuses_receipts_logged_at_or_after_it_and_names_it():
    trust, keyid = load_revoked(), keyid_of(KEY)
    since = parse_time("2026-11-01T00:00:00Z")
    trust.check_not_revoked([keyid], lambda: since - 1)  # logged before: fine
    for when, said in [(since, "logged it at 2026-11-01T00:00:00Z"), (None, "not known")]:
        with pytest.raises(KeyRevoked, match=said) as caught:
            trust.check_not_revoked([keyid], lambda when=when: when)
        assert "revoked from 2026-11-01T00:00:00Z (laptop stolen)" in str(caught.value)


def test_a_receipt_also_signed_by_a_live_key_is_not_refused_and_time_is_not_asked():
    other = SigningKey.generate().public_key
    trust = load_revoked(extra=other)
    asked = []
    trust.check_not_revoked([keyid_of(KEY), keyid_of(other)], lambda: asked.append(1))
    assert asked == []


def load_revoked(extra: bytes | None = None) -> Trust:
    keys = [(KEY, "ci", "receipts")] + ([(extra, "other", "receipts")] if extra else [])
    from receiptcore.signing.trust import Revocation, _model

    since = parse_time("2026-11-01T00:00:00Z")
    model = _model(keys, [Revocation(keyid_of(KEY), since, "laptop stolen")])
    return Trust._from_model(model)


def test_add_and_revoke_write_version_2_and_upgrade_a_version_1_file(tmp_path):
    path = write(tmp_path, TRUST)
    new = SigningKey.generate().public_key
    assert add_trusted_key(path, new, "ci-2027")
    assert not add_trusted_key(path, new, "ci-2027")  # already there: nothing changes
    assert add_trusted_key(path, LEDGER_KEY, "receiptcore.local/abc", role="ledger")
    revoke_key(path, keyid_of(KEY), parse_time("2027-01-01T00:00:00Z"), "rotated")
    document = json.loads(Path(path).read_text())
    assert document["schema_version"] == 2
    assert [k["role"] for k in document["keys"]] == ["receipts", "receipts", "ledger"]
    assert document["revocations"] == [
        {"keyid": keyid_of(KEY), "from": "2027-01-01T00:00:00Z", "reason": "rotated"}
    ]
    with pytest.raises(TrustFileError, match="no receipts key"):
        revoke_key(path, keyid_of(LEDGER_KEY), 0, "a ledger key is not revoked")


def test_time_is_rfc3339_utc_with_seconds_both_ways():
    assert format_time(parse_time("2026-11-01T12:34:56Z")) == "2026-11-01T12:34:56Z"
    assert parse_time("1970-01-01T00:00:00Z") == 0
    with pytest.raises(ValueError):
        parse_time("2026-11-01T12:34:56+01:00")


# --- read safely -----------------------------------------------------------------------------


def test_a_trust_file_behind_a_symlink_is_refused_unless_followed(tmp_path):
    from receiptcore.util.reading import FOLLOW_SYMLINKS

    real = write(tmp_path, TRUST)
    os.symlink(real, tmp_path / "link.json")
    with pytest.raises(NotRegularFile, match="symbolic link"):
        load_trust(tmp_path / "link.json")
    token = FOLLOW_SYMLINKS.set(True)
    try:
        assert load_trust(tmp_path / "link.json").keys
    finally:
        FOLLOW_SYMLINKS.reset(token)


def test_a_fifo_or_a_device_as_trust_file_is_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(NotRegularFile, match="FIFO"):
        load_trust(tmp_path / "fifo")  # a blocking open would wait for a writer forever
    with pytest.raises(NotRegularFile, match="device"):
        load_trust("/dev/zero")


def test_a_trust_file_over_its_cap_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "big.json"
    with open(path, "wb") as f:
        f.truncate((1 << 20) + 1)
    with pytest.raises(LimitExceeded, match="1 MiB"):
        load_trust(path)

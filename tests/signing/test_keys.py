"""Signing keys and the trust file: files OpenSSL reads, mode 0600, never overwritten, loaded
from a path or the environment; key ids recomputable with any sha256 tool."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from receiptcore.errors import SigningKeyError, TrustFileError
from receiptcore.signing.keys import (
    ENV_SIGNING_KEY,
    SigningKey,
    generate_key_pair,
    keyid_of,
    load_public_key,
    load_signing_key,
)
from receiptcore.signing.trust import Trust, add_trusted_key, load_trust

OPENSSL = shutil.which("openssl")


def test_generate_writes_private_key_mode_0600_and_public_key_beside_it(tmp_path):
    key = generate_key_pair(tmp_path / "ci.key")
    private, public = tmp_path / "ci.key", tmp_path / "ci.key.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert load_signing_key(private).public_key == key.public_key
    assert load_public_key(public) == key.public_key
    assert sorted(os.listdir(tmp_path)) == ["ci.key", "ci.key.pub"]  # no temporaries left


@pytest.mark.parametrize("existing", ["ci.key", "ci.key.pub"])
def test_generate_refuses_to_overwrite_and_writes_nothing(tmp_path, existing):
    (tmp_path / existing).write_bytes(b"precious")
    with pytest.raises(SigningKeyError, match="already exists; refusing to overwrite"):
        generate_key_pair(tmp_path / "ci.key")
    assert os.listdir(tmp_path) == [existing]
    assert (tmp_path / existing).read_bytes() == b"precious"


def test_keyid_is_sha256_of_the_raw_public_key():
    key = SigningKey.generate()
    raw = key.private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert key.keyid == hashlib.sha256(raw).hexdigest() == keyid_of(raw)


def test_signing_key_comes_from_the_environment_as_pem_text():
    key = SigningKey.generate()
    loaded = load_signing_key(environ={ENV_SIGNING_KEY: key.private_pem().decode()})
    assert loaded.keyid == key.keyid


def test_a_path_wins_over_the_environment(tmp_path):
    from_file = generate_key_pair(tmp_path / "k")
    other = SigningKey.generate()
    loaded = load_signing_key(tmp_path / "k", environ={ENV_SIGNING_KEY: other.private_pem().decode()})
    assert loaded.keyid == from_file.keyid


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "no signing key: pass --key PATH or set RECEIPTCORE_SIGNING_KEY"),
        ({ENV_SIGNING_KEY: "/secrets/ci.key"}, "must hold the PEM text"),
        ({ENV_SIGNING_KEY: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}, "not a PEM private key"),
    ],
)
def test_missing_or_unusable_environment_key_is_a_signing_key_error(environ, message):
    with pytest.raises(SigningKeyError, match=message):
        load_signing_key(environ=environ)


def test_a_missing_key_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_signing_key(tmp_path / "absent.key")


def test_keys_of_other_algorithms_are_refused(tmp_path):
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "p256.key").write_bytes(pem)
    with pytest.raises(SigningKeyError, match="not an Ed25519 key"):
        load_signing_key(tmp_path / "p256.key")


def test_encrypted_keys_are_refused_with_a_reason(tmp_path):
    pem = SigningKey.generate().private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    (tmp_path / "enc.key").write_bytes(pem)
    with pytest.raises(SigningKeyError, match="encrypted"):
        load_signing_key(tmp_path / "enc.key")


@pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")
def test_a_key_made_by_openssl_works_and_openssl_reads_ours(tmp_path):
    subprocess.run([OPENSSL, "genpkey", "-algorithm", "ed25519", "-out", tmp_path / "o.key"], check=True)
    key = load_signing_key(tmp_path / "o.key")
    generate_key_pair(tmp_path / "ours.key")
    out = subprocess.run(
        [OPENSSL, "pkey", "-in", tmp_path / "ours.key", "-pubout"], check=True, capture_output=True
    ).stdout
    assert out == (tmp_path / "ours.key.pub").read_bytes()
    assert key.keyid == keyid_of(key.public_key)


def test_trust_file_lists_keys_and_is_read_back(tmp_path):
    a, b = SigningKey.generate(), SigningKey.generate()
    path = tmp_path / "trust.json"
    assert add_trusted_key(path, a.public_key, "ci-a")
    assert add_trusted_key(path, b.public_key, "ci-b")
    assert not add_trusted_key(path, a.public_key, "again")  # already there: unchanged
    trust = load_trust(path)
    assert trust.keys == {a.keyid: a.public_key, b.keyid: b.public_key}
    assert trust.names[a.keyid] == "ci-a"
    document = json.loads(path.read_text())
    assert document["keys"][0] == {
        "keyid": a.keyid, "algorithm": "ed25519", "public_key": a.public_key.hex(), "name": "ci-a",
        "role": "receipts",
    }


def test_a_key_listed_under_another_key_s_id_is_refused(tmp_path):
    a, b = SigningKey.generate(), SigningKey.generate()
    path = tmp_path / "trust.json"
    add_trusted_key(path, a.public_key, "ci")
    document = json.loads(path.read_text())
    document["keys"][0]["keyid"] = b.keyid
    path.write_text(json.dumps(document))
    with pytest.raises(TrustFileError, match="is listed under key id"):
        load_trust(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read the trust file"), ("{", "not valid JSON"), ('{"kind": "trust"}', "schema_version: required")],
)
def test_an_unusable_trust_file_is_a_trust_file_error(tmp_path, content, message):
    path = tmp_path / "trust.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(TrustFileError, match=message):
        load_trust(path)


def test_in_memory_trust_matches_the_file_form():
    key = SigningKey.generate()
    assert Trust.of((key.public_key, "ci")).keys == {key.keyid: key.public_key}

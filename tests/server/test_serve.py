"""``receiptcore serve`` on each database: appends checked and batched, every read the client
can check, and the tlog tiles read by an independent C2SP client (tlog-scales, from PyPI)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from receiptcore.errors import NotInLedger, SchemaError, UntrustedKey
from receiptcore.ledger import merkle, open_ledger
from receiptcore.ledger.audit import audit
from receiptcore.ledger.checkpoint import open_checkpoint
from receiptcore.ledger.tiles import entry_bundle, parse_tile_path, tile_path
from receiptcore.signing.keys import SigningKey
from support.serving import Served


@pytest.fixture
def served(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("RECEIPTCORE_RETRY_SECONDS", "60")
    server = Served(backend.url, backend.signer, tmp_path / "serve")
    backend.open().close()  # the schema exists before the server opens it read-only too
    server.start()
    yield server
    server.stop()


def test_an_append_answers_its_index_checkpoint_and_a_proof_that_verifies(served, backend):
    client = open_ledger(served.url)
    first = client.append(served.receipt("model-a"))
    second = client.append(served.receipt("model-b"))
    again = client.append(served.receipt("model-a"))
    assert (first.index, second.index, again.index) == (0, 1, 0)
    assert second.artifact_id == "model-b"  # the columns come from the signed receipt
    local = backend.open(writable=False)
    assert local.size() == 2 and local.entry(1).data == second.data
    assert client.find(artifact_id="model-b").index == 1
    assert [e.index for e in client.find_all(artifact_id="model-a")] == [0]
    with pytest.raises(NotInLedger):
        client.find(artifact_id="nope")
    with pytest.raises(NotInLedger):
        client.entry(7)


def test_receipts_are_refused_unless_trusted_and_valid(served):
    client = open_ledger(served.url)
    with pytest.raises(UntrustedKey):
        client.append(served.receipt("x", key=SigningKey.generate()))
    with pytest.raises(SchemaError):
        client.append(b'{"not": "an envelope"}')
    with pytest.raises(SchemaError, match="at most"):
        client.append(b"x" * 70_000)
    assert client.size() == 0


def test_a_bundle_is_refused_whole_with_the_error_of_its_first_bad_receipt(served):
    """The signatures of a bundle are checked together, but the answer is what checking its
    receipts one by one gives: the first bad receipt's error, and nothing appended."""
    stranger = SigningKey.generate()
    good, untrusted = served.receipt("good"), served.receipt("strangers", key=stranger)
    not_json = b'{"payload": '

    def post(bundle: list[bytes]) -> tuple[int, str]:
        request = urllib.request.Request(
            f"{served.url}/v1/bundle", data=entry_bundle(bundle), method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request)
        return info.value.code, json.loads(info.value.read())["error"]["type"]

    assert post([good, untrusted, not_json]) == (403, "UntrustedKey")
    assert post([good, not_json, untrusted]) == (400, "SchemaError")
    assert open_ledger(served.url).size() == 0


def test_reads_proofs_and_audit_through_the_client_match_the_database(served, backend):
    client = open_ledger(served.url)
    for i in range(20):
        client.append(served.receipt(f"m{i}"))
    local = backend.open(writable=False)
    assert [e.data for e in client.entries()] == [e.data for e in local.entries()]
    assert list(client.checkpoints()) == list(local.checkpoints())
    assert client.inclusion_proof(5, 17) == local.inclusion_proof(5, 17)
    assert client.consistency_proof(3, 20) == local.consistency_proof(3, 20)
    report = audit(client, client.verifier_key)
    assert report.size == 20 and report.root == local.root(20)


def test_sixteen_clients_lose_nothing_duplicate_nothing_and_keep_order(served, backend):
    clients, per = 16, 1000 // 8  # 16 x 125 here; the 16 x 1,000 run is in test_faults.py
    receipts = [[served.receipt(f"c{c}-{i}") for i in range(per)] for c in range(clients)]
    acknowledged: list[list] = [[] for _ in range(clients)]

    def client(c: int) -> None:
        ledger = open_ledger(served.url)
        for data in receipts[c]:
            acknowledged[c].append(ledger.append(data))

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    local = backend.open(writable=False)
    entries = list(local.entries())
    assert [e.index for e in entries] == list(range(clients * per))
    assert sorted(e.data for e in entries) == sorted(d for r in receipts for d in r)
    for c in range(clients):  # each client's appends are in the log in the order it made them
        indexes = [e.index for e in acknowledged[c]]
        assert indexes == sorted(indexes) and all(entries[i].data == a.data for i, a in zip(indexes, acknowledged[c]))
    report = audit(local, local.verifier_key)
    assert report.checkpoints < clients * per  # batched: fewer checkpoints than appends


def test_tiles_are_read_by_an_independent_tlog_tiles_client(served, backend):
    """tlog-scales (PyPI; not ours) reads the tiles the way a witness or monitor reads any C2SP
    log: its root from our tiles, its proofs and entries must match ours. Its checkpoint parser
    (0.0.x) takes exactly three body lines, while c2sp.org/tlog-checkpoint allows extension
    lines and ours carry one (``time <seconds>``, what revocations are judged against): the
    served checkpoint is read and checked here, and the reader is set to its size."""
    from tlog_scales.backend import HttpBackend
    from tlog_scales.reader import TilesReader

    writer = backend.open()
    writer.append_many((b"entry %d" % i, None, None) for i in range(70_000))
    local = backend.open(writable=False)
    http = HttpBackend(served.url)
    served_note = http.get("checkpoint").decode()
    ours = open_checkpoint(served_note, local.verifier_key)
    assert served_note == local.checkpoint_note()
    reader = TilesReader(http)
    reader.set_size(ours.size)
    assert reader.calculate_root_hash() == ours.root  # built from level 0, 1 and 2 tiles
    for index in (0, 255, 256, 65_535, 65_536, 69_999):
        assert reader.get_entry(index) == b"entry %d" % index
        proof = reader.get_inclusion_proof(index, ours.size)
        assert proof.node_hashes == local.inclusion_proof(index, ours.size)
        merkle.verify_inclusion(index, ours.size, merkle.leaf_hash(b"entry %d" % index),
                                proof.node_hashes, ours.root)
    proof = reader.get_consistency_proof(1000, ours.size)
    assert proof.node_hashes == local.consistency_proof(1000, ours.size)
    proof.check(local.root(1000), ours.root)  # its own RFC 9162 verifier


def test_tile_urls_are_immutable_only_when_full(served, backend):
    backend.open().append_many((b"e%d" % i, None, None) for i in range(300))

    def get(path):
        with urllib.request.urlopen(f"{served.url}/{path}") as answer:
            return answer.read(), answer.headers["Cache-Control"]

    full, cache = get(tile_path(0, 0))
    assert len(full) == 256 * 32 and "immutable" in cache
    partial, cache = get(tile_path(0, 1, 44))
    assert len(partial) == 44 * 32 and "immutable" not in cache
    bundle, _ = get(tile_path("entries", 1, 44))
    assert bundle == entry_bundle([b"e%d" % i for i in range(256, 300)])
    for missing in (tile_path(0, 1), tile_path(0, 1, 45), "tile/0/1.p/0", "tile/9/zzz"):
        with pytest.raises(urllib.error.HTTPError) as info:
            get(missing)
        assert info.value.code in (400, 404)


def test_tile_paths_as_the_spec_writes_them():
    # c2sp.org/tlog-tiles: "the tile index 1234067 is encoded as x001/x234/067"
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path("entries", 5, 7) == "tile/entries/005.p/7"
    assert parse_tile_path(["0", "x001", "x234", "067"]) == ("0", 1234067, 256)
    assert parse_tile_path(["entries", "005.p", "7"]) == ("entries", 5, 7)
    for bad in ("0/1234067", "0/x1/067", "0/005.p/256", "0/005.p/0", "x/000", "0"):
        with pytest.raises(ValueError):
            parse_tile_path(bad.split("/"))


def test_meta_names_the_ledger_key(served, backend):
    with urllib.request.urlopen(f"{served.url}/v1/meta") as answer:
        meta = json.load(answer)
    assert meta["vkey"] == backend.signer.verifier.to_text() and meta["size"] == 0

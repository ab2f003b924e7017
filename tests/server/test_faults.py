"""Faults and load, bounded and on loopback: a server killed with SIGKILL under 16 clients, a
PostgreSQL restarted under load, a database or an S3 server that is gone, an S3 server stopped in
the middle of an upload. Every test ends by checking nothing was lost, duplicated, reordered or
left half-written where ``verify`` would see it."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

import pytest
import services

from receiptcore.cli import main
from receiptcore.errors import LedgerUnavailable, NotInLedger, StoreUnavailable
from receiptcore.ledger import open_ledger
from receiptcore.ledger.audit import audit
from support.backends import Backend
from support.serving import Served


class Load:
    """``clients`` threads, each appending its own receipts one after the other through
    ``url``; what each got acknowledged is kept in order."""

    def __init__(self, served: Served, clients: int, per: int) -> None:
        self.url = served.url
        self.receipts = [[served.receipt(f"c{c}-{i}") for i in range(per)] for c in range(clients)]
        self.acked: list[list] = [[] for _ in range(clients)]
        self.errors: list[BaseException] = []
        self.progress = threading.Semaphore(0)
        self.threads = [threading.Thread(target=self._client, args=(c,)) for c in range(clients)]

    def _client(self, c: int) -> None:
        try:
            ledger = open_ledger(self.url)
            for data in self.receipts[c]:
                self.acked[c].append(ledger.append(data))
                self.progress.release()
        except BaseException as error:  # noqa: BLE001 - reported by check()
            self.errors.append(error)

    def start(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def wait_for(self, acks: int) -> None:
        for _ in range(acks):
            self.progress.acquire()

    def join(self) -> None:
        for t in self.threads:
            t.join()

    def check(self, ledger) -> None:
        """Every receipt exactly once, every acknowledged one where it was acknowledged, each
        client's appends in its order, no gap; and the log recomputes."""
        assert self.errors == []
        entries = list(ledger.entries())
        assert [e.index for e in entries] == list(range(len(entries)))
        everything = [d for r in self.receipts for d in r]
        assert sorted(e.data for e in entries) == sorted(everything)
        for acked in self.acked:
            assert all(entries[a.index].data == a.data for a in acked)
            assert [a.index for a in acked] == sorted(a.index for a in acked)
        assert audit(ledger, ledger.verifier_key).size == len(everything)


def test_sixteen_clients_a_thousand_appends_each_and_a_server_killed_in_the_middle(
    backend, tmp_path, monkeypatch, capsys
):
    """16 x 1,000 on PostgreSQL, the shared backend; 16 x 250 on SQLite (the same code path,
    a quarter of the time)."""
    per = 1000 if backend.kind == "postgresql" else 250
    monkeypatch.setenv("RECEIPTCORE_RETRY_SECONDS", "120")
    backend.open().close()
    served = Served(backend.url, backend.signer, tmp_path / "serve").start()
    try:
        load = Load(served, clients=16, per=per).start()
        load.wait_for(16 * per // 3)
        served.kill()  # SIGKILL, mid-load: requests in flight are cut
        served.start()  # same port; the clients' retries find it again
        load.join()
        load.check(backend.open(writable=False))
        monkeypatch.setenv("RECEIPTCORE_STATE", str(tmp_path / "state"))
        code = main(["ledger", "verify", "--ledger", served.url, "--trust", str(served.trust)])
        assert code == 0 and f"{16 * per} entries" in capsys.readouterr().out
    finally:
        served.stop()


def test_postgresql_restarted_under_load_loses_nothing(postgres, tmp_path, monkeypatch):
    monkeypatch.setenv("RECEIPTCORE_RETRY_SECONDS", "120")
    backend = Backend("postgresql", tmp_path, postgres)
    backend.open().close()
    served = Served(backend.url, backend.signer, tmp_path / "serve").start()
    try:
        load = Load(served, clients=8, per=300).start()
        load.wait_for(600)
        postgres.restart("fast")  # every connection of the server is cut
        load.wait_for(600)
        postgres.restart("immediate")  # as a crash: recovery from the WAL
        load.join()
        load.check(backend.open(writable=False))
    finally:
        served.stop()


def test_a_database_that_is_gone_is_exit_20_after_retries(postgres, tmp_path, monkeypatch, capsys):
    backend = Backend("postgresql", tmp_path, postgres)
    backend.open().close()
    monkeypatch.setenv("RECEIPTCORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RECEIPTCORE_LEDGER_SIGNER", backend.signer.to_text())
    monkeypatch.setenv("RECEIPTCORE_RETRY_SECONDS", "1")
    (tmp_path / "model.bin").write_bytes(b"weights")
    postgres.halt("fast")
    try:
        code = main(["publish", str(tmp_path / "model.bin"), "--ledger", backend.url, "--no-progress"])
        err = capsys.readouterr().err
        assert code == 20 and "is unreachable" in err and err.count("\n") == 1
    finally:
        postgres.launch()
    assert backend.open(writable=False).size() == 0  # nothing half-written
    code = main(["publish", str(tmp_path / "model.bin"), "--ledger", backend.url, "--no-progress"])
    assert code == 0 and backend.open(writable=False).size() == 1


@pytest.fixture
def own_seaweedfs(monkeypatch):
    """A SeaweedFS of this test's own, to be stopped in the middle of an upload."""
    root = Path(tempfile.mkdtemp(prefix="receiptcore-weed-fault-"))
    weed = services.SeaweedFS(root)
    weed.start()
    for key, value in weed.env().items():
        monkeypatch.setenv(key, value)
    yield weed
    weed.stop()
    shutil.rmtree(root, ignore_errors=True)


def test_an_s3_server_stopped_mid_upload_leaves_nothing_visible(own_seaweedfs, tmp_path, monkeypatch):
    from receiptcore.publish import publish
    from receiptcore.verify import verify

    monkeypatch.setenv("RECEIPTCORE_RETRY_SECONDS", "2")
    monkeypatch.setenv("RECEIPTCORE_STATE", str(tmp_path / "state"))
    for var in ("RECEIPTCORE_SIGNING_KEY", "RECEIPTCORE_TRUST", "RECEIPTCORE_LEDGER"):
        monkeypatch.delenv(var, raising=False)
    bucket, home = own_seaweedfs.url("fault"), tmp_path / "home"
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.writelines(__import__("os").urandom(8 << 20) for _ in range(24))

    def stop_the_server_halfway(done: int, *_: int) -> None:  # publish.Progress: bytes first
        if done >= 96 << 20 and own_seaweedfs.proc.poll() is None:
            own_seaweedfs.stop()

    with pytest.raises(StoreUnavailable, match="failed while uploading"):
        publish(big, artifact_id="big", home=home, store=bucket, progress=stop_the_server_halfway)
    own_seaweedfs.start()
    from receiptcore.store import open_store

    store = open_store(bucket)
    assert [m for batch in __import__("obstore").list(store._store, "sha256/") for m in batch] == []
    with pytest.raises(NotInLedger):  # the receipt was never appended
        verify(artifact_id="big", home=home, store=bucket)
    published = publish(big, artifact_id="big", home=home, store=bucket)
    assert verify(artifact_id="big", home=home, store=bucket).verified
    assert published.uri.startswith(bucket)


def test_an_unreachable_serve_endpoint_is_exit_20(tmp_path, monkeypatch):
    monkeypatch.setenv("RECEIPTCORE_RETRY_SECONDS", "0.5")
    with pytest.raises(LedgerUnavailable, match="unreachable"):
        open_ledger(f"http://127.0.0.1:{services.free_port()}").size()

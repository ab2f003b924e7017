"""The server's kept verdicts (in-process, no server): a verdict is reused only while the
ledger, the trust file and the stored objects are those it was reached on; the ledger's size is
read on a kept connection, which must notice an append and a ledger file put in its place."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest

from receiptcore.errors import RollbackDetected
from receiptcore.ledger.sqlite import DB_FILE
from receiptcore.tools.service import ServerConfig, ToolService
from support.toolserver import Models


@pytest.fixture
def models(tmp_path) -> Models:
    models = Models(tmp_path)
    models.publish("a.bin", b"first artifact")
    return models


def service_of(models: Models) -> ToolService:
    return ToolService(ServerConfig(home=models.home, state=models.server_state))


def commit_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_kept_verdict_is_reused_while_nothing_changed(models):
    service = service_of(models)
    first = service.verified("a.bin", commit_of(b"first artifact"))
    assert first.verified
    assert service.verified("a.bin", commit_of(b"first artifact")) is first


def test_an_append_to_the_ledger_is_seen_on_the_kept_connection(models):
    service = service_of(models)
    first = service.verified("a.bin", commit_of(b"first artifact"))
    models.publish("b.bin", b"second artifact")
    again = service.verified("a.bin", commit_of(b"first artifact"))
    assert again is not first and again.verified
    assert again.checkpoint_size == first.checkpoint_size + 1


def test_a_ledger_file_put_in_place_of_the_kept_one_is_noticed(models):
    backup = models.root / "ledger-backup"
    shutil.copyfile(models.home / DB_FILE, backup)  # the ledger of one entry
    models.publish("b.bin", b"second artifact")
    service = service_of(models)
    assert service.verified("a.bin", commit_of(b"first artifact")).checkpoint_size == 2
    staged = models.home / "ledger.staged"
    shutil.copyfile(backup, staged)
    os.replace(staged, models.home / DB_FILE)  # rolled back, under the kept connection
    with pytest.raises(RollbackDetected):
        service.verified("a.bin", commit_of(b"first artifact"))

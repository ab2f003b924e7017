"""``receiptcore serve`` as the tests run it: a real process on a loopback port, stopped after."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import services

from receiptcore.signing.keys import SigningKey
from receiptcore.signing.receipts import envelope_bytes, sign_receipt
from receiptcore.signing.trust import add_trusted_key


class Served:
    """A serve process over ``ledger_url``, signing checkpoints with ``signer``; receipts are
    accepted from :attr:`key` (written to the trust file it is started with)."""

    def __init__(self, ledger_url: str, signer, root: Path, *, extra: tuple[str, ...] = ()) -> None:
        self.ledger_url, self.root, self.extra = ledger_url, Path(root), extra
        self.root.mkdir(parents=True, exist_ok=True)
        self.key = SigningKey.generate()
        self.trust = self.root / "trust.json"
        add_trusted_key(self.trust, self.key.public_key, "ci@test")
        self.env = dict(os.environ, RECEIPTCORE_LEDGER_SIGNER=signer.to_text())
        self.port = services.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Served:
        argv = [
            sys.executable, "-m", "receiptcore.cli", "serve", "--ledger", self.ledger_url,
            "--trust", str(self.trust), "--home", str(self.root / "home"),
            "--http", f"127.0.0.1:{self.port}", *self.extra,
        ]
        self.proc = subprocess.Popen(argv, env=self.env, stderr=open(self.root / "serve.log", "ab"))  # noqa: SIM115
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}: {self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/v1/meta", timeout=5) as answer:
                    json.load(answer)
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def log(self) -> str:
        return (self.root / "serve.log").read_text(errors="replace")[-2000:]

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as a crash or an OOM kill."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()

    def receipt(self, name: str, key: SigningKey | None = None) -> bytes:
        """A signed receipt for an artifact ``name`` (its commit made from the name)."""
        import hashlib

        commit = "sha256:" + hashlib.sha256(name.encode()).hexdigest()
        envelope = sign_receipt(
            name, commit, f"s3://artifacts/{name}", "sha256:" + "b" * 64, [], key or self.key,
            issuer="ci@test",
        )
        return envelope_bytes(envelope)

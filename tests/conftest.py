"""Shared fixtures: where outside reference data lives, and small helpers."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from support.paths import VECTORS


@pytest.fixture(scope="session", autouse=True)
def _user_cache(tmp_path_factory):
    """The user cache folder (scan --all's verdicts) in tmp: no test reads or fills ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        yield


@pytest.fixture
def vectors() -> Path:
    """``../shared/vectors`` beside the checkout: outside data we never copy into the project."""
    if not VECTORS.is_dir():
        pytest.skip(f"outside test vectors not found at {VECTORS}")
    return VECTORS


# --- the real services (PostgreSQL, SeaweedFS), started once per session ---------------------

REQUIRE_SERVICES = os.environ.get("RECEIPTCORE_TEST_SERVICES") == "require"


def _unavailable(what: str, why: object) -> None:
    """Under `make test` a missing service fails the run; by hand it skips, saying why."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (RECEIPTCORE_TEST_SERVICES=require): {why}")
    pytest.skip(f"{what} not available ({why}); `make test` installs and starts it")


def _service_root(prefix: str) -> Path:
    # Not under pytest's tmp folder: that is private to root, and PostgreSQL runs as `postgres`.
    root = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(root, 0o755)
    return root


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster on 127.0.0.1 (tests make one database each)."""
    import services

    root = _service_root("receiptcore-pg-")
    try:
        try:
            pg = services.Postgres(root / "cluster")
        except FileNotFoundError as error:
            _unavailable("PostgreSQL", error)
        pg.start()
        yield pg
        pg.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def seaweedfs():
    """A SeaweedFS S3 server on 127.0.0.1."""
    import services

    root = _service_root("receiptcore-weed-")
    try:
        try:
            weed = services.SeaweedFS(root / "weed")
        except FileNotFoundError as error:
            _unavailable("SeaweedFS", error)
        try:
            weed.start()
            yield weed
        finally:
            weed.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def s3(seaweedfs, monkeypatch):
    """The S3 server's credentials and endpoint in the environment, as a CI job would have."""
    for key, value in seaweedfs.env().items():
        monkeypatch.setenv(key, value)
    return seaweedfs


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path):
    """Each ledger backend in turn, for the contract tests (the same test, both databases)."""
    from support.backends import Backend

    postgres = request.getfixturevalue("postgres") if request.param == "postgresql" else None
    return Backend(request.param, tmp_path, postgres)


@pytest.fixture(params=["folder", "s3"])
def stores(request, tmp_path):
    """Each artifact-store backend in turn, for the store contract tests."""
    from support.stores import StoreBackend

    weed = request.getfixturevalue("s3") if request.param == "s3" else None
    return StoreBackend(request.param, tmp_path / "store", weed)
@pytest.fixture
def env(tmp_path, monkeypatch):
    """A clean machine: home and verifier state in tmp, no CI key, no mode from outside."""
    for var in ("RECEIPTCORE_SIGNING_KEY", "RECEIPTCORE_TRUST", "RECEIPTCORE_VERIFY_MODE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RECEIPTCORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RECEIPTCORE_STATE", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path

"""The wheel a user installs: one abi3 manylinux wheel that needs no Rust, and the CLI works
from it.

The wheel is built here as `make wheel` builds it (`maturin build --release --features abi3`;
the compiled crate is cargo's cached one after the first time). It is installed into a fresh virtual environment whose PATH has
no cargo or rustc; its dependencies come from this environment (tests never reach the
network), seen after the wheel's own files, so the receiptcore that runs is the wheel's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from support.paths import REPO

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([str(BIN / "maturin"), "build", "--release", "--quiet", "--features", "abi3",
                    "--out", str(out), "--interpreter", sys.executable], cwd=REPO, check=True)
    return next(out.glob("*.whl"))


@pytest.fixture(scope="module")
def fresh(wheel, tmp_path_factory) -> dict[str, str]:
    """The environment of a shell in the fresh virtual environment, with no Rust on PATH."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-deps", "--no-index", str(wheel)], check=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    path = os.pathsep.join([str(root / "bin"), "/usr/bin", "/bin"])
    assert shutil.which("cargo", path=path) is None and shutil.which("rustc", path=path) is None
    home = tmp_path_factory.mktemp("user")
    return {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8",
            "RECEIPTCORE_HOME": str(home / ".receiptcore"), "RECEIPTCORE_STATE": str(home / "state")}


def rc(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["receiptcore", *args], env=env, cwd=env["HOME"], capture_output=True,
                          text=True, check=False)


def test_the_wheel_is_one_abi3_wheel_for_every_cpython_from_3_11(wheel):
    name, _version, python, abi, platform = wheel.name.removesuffix(".whl").split("-")
    assert (name, python, abi) == ("receiptcore", "cp311", "abi3")
    assert platform.startswith("manylinux")
    with zipfile.ZipFile(wheel) as contents:
        names = contents.namelist()
    assert "receiptcore/_core.abi3.so" in names
    assert "receiptcore/_core.pyi" in names and "receiptcore/py.typed" in names


def test_auditwheel_finds_the_wheel_consistent_with_its_manylinux_tag(wheel):
    shown = subprocess.run([str(BIN / "auditwheel"), "show", str(wheel)], capture_output=True,
                           text=True, check=True).stdout
    platform = wheel.name.removesuffix(".whl").split("-")[-1]
    assert f'consistent with the following platform tag: "{platform}"' in " ".join(shown.split())


def test_the_installed_wheel_runs_without_rust(fresh):
    where = subprocess.run(
        ["python", "-c", "import receiptcore, receiptcore._core as c; print(receiptcore.__file__, c.__file__)"],
        env=fresh, capture_output=True, text=True, check=True).stdout
    assert str(REPO) not in where  # the wheel's files, not this checkout's
    done = rc(fresh, "--version")
    assert done.returncode == 0 and done.stdout.startswith("receiptcore ")


def test_publish_then_verify_from_the_installed_wheel(fresh):
    artifact = Path(fresh["HOME"], "model.bin")
    artifact.write_bytes(os.urandom(300_000))
    published = rc(fresh, "publish", str(artifact), "--json", "--no-progress")
    assert published.returncode == 0, published.stderr
    assert json.loads(published.stdout)["ledger_index"] == 0
    verified = rc(fresh, "verify", str(artifact), "--json")
    assert verified.returncode == 0, verified.stderr
    artifact.write_bytes(b"tampered")
    assert rc(fresh, "verify", "--artifact-id", "model.bin", str(artifact)).returncode == 9

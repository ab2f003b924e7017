"""The digest engine: known answers from the standards, equality with independent
implementations (hashlib, the blake3 package, sha256sum), and every error path."""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import subprocess
import sys
import threading

import blake3
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receiptcore import FileChangedError, Hasher, ReceiptcoreError, hash_file, hash_files

# FIPS 180-4 example messages (NIST CSRC "Examples with Intermediate Values", SHA-256).
FIPS_180_4 = [
    (b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (
        b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    ),
    (b"a" * 1_000_000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
    (b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
]

# BLAKE3-team/BLAKE3 test_vectors/test_vectors.json: input is bytes i % 251; the first 32 bytes
# of each extended "hash" output are the default-length digest.
BLAKE3_VECTORS = {
    0: "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
    1: "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213",
    1023: "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11",
    1024: "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7",
    1025: "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444",
    2048: "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a",
    3073: "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3",
    4096: "015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969",
    5121: "628bd2cb2004694adaab7bbd778a25df25c47b9d4155a55f8fbd79f2fe154cff",
    7169: "a003fc7a51754a9b3c7fae0367ab3d782dccf28855a03d435f8cfe74605e7817",
}


def blake3_input(length: int) -> bytes:
    return bytes(i % 251 for i in range(length))


@pytest.mark.parametrize(("message", "expected"), FIPS_180_4)
def test_sha256_matches_fips_180_4_examples(message, expected, tmp_path):
    assert Hasher("sha256", message).hexdigest() == expected
    path = tmp_path / "m"
    path.write_bytes(message)
    assert hash_file(path) == expected


@pytest.mark.parametrize(("length", "expected"), sorted(BLAKE3_VECTORS.items()))
def test_blake3_matches_the_blake3_teams_vectors(length, expected, tmp_path):
    data = blake3_input(length)
    assert Hasher("blake3", data).hexdigest() == expected
    path = tmp_path / "m"
    path.write_bytes(data)
    assert hash_file(path, algo="blake3") == expected


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=20_000), cuts=st.lists(st.integers(0, 20_000), max_size=12))
def test_any_split_into_updates_gives_the_one_shot_digest(data, cuts):
    bounds = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    sha, b3 = Hasher("sha256"), Hasher("blake3")
    for start, end in itertools.pairwise(bounds):
        sha.update(data[start:end])
        b3.update(memoryview(data)[start:end])
    assert sha.hexdigest() == hashlib.sha256(data).hexdigest()
    assert b3.hexdigest() == blake3.blake3(data).hexdigest()


def test_update_takes_any_contiguous_buffer():
    array = np.arange(300_000, dtype=np.float32)  # 1.2 MB: the GIL-releasing path
    for buffer in (array, memoryview(array), bytearray(array.tobytes()), array.tobytes()):
        assert Hasher("sha256", buffer).hexdigest() == hashlib.sha256(array.tobytes()).hexdigest()


def test_update_rejects_non_contiguous_arrays_and_non_buffers():
    with pytest.raises((BufferError, ValueError)):
        Hasher().update(np.arange(10)[::2])
    with pytest.raises(TypeError):
        Hasher().update("text is not bytes")


def test_hexdigest_leaves_the_stream_open_and_copy_is_independent():
    h = Hasher("sha256", b"ab")
    snapshot = h.copy()
    h.hexdigest()
    h.update(b"c")
    assert h.hexdigest() == FIPS_180_4[0][1]
    assert snapshot.hexdigest() == hashlib.sha256(b"ab").hexdigest()
    assert h.digest() == bytes.fromhex(FIPS_180_4[0][1])
    assert (h.name, h.digest_size) == ("sha256", 32)


def test_unknown_algorithm_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="md5"):
        Hasher("md5")
    with pytest.raises(ValueError, match="md5"):
        hash_file(tmp_path, algo="md5")


@pytest.mark.parametrize("size", [0, 1, 2 << 20, (4 << 20) + 1, (9 << 20) + 123])
@pytest.mark.parametrize("algo", ["sha256", "blake3"])
def test_files_of_every_size_match_hashlib_and_blake3(size, algo, tmp_path):
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    expected = hashlib.sha256(data) if algo == "sha256" else blake3.blake3(data)
    assert hash_file(path, algo=algo) == expected.hexdigest()


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="sha256sum not installed")
def test_files_match_sha256sum(tmp_path):
    paths = []
    for i, size in enumerate([0, 10, 3 << 20, 5 << 20]):
        p = tmp_path / f"{i}.bin"
        p.write_bytes(os.urandom(size))
        paths.append(p)
    out = subprocess.run(["sha256sum", *map(str, paths)], capture_output=True, check=True, text=True)
    assert hash_files(paths) == [line.split()[0] for line in out.stdout.splitlines()]


def test_sparse_file_over_4_gib(tmp_path):
    """A 5 GiB sparse file (made with truncate, so it costs no disk) crosses every 32-bit
    boundary; hashlib over the same zero bytes in chunks is the oracle."""
    path = tmp_path / "sparse.bin"
    size = 5 << 30
    with open(path, "wb") as f:
        f.truncate(size)
        f.seek(size - 3)
        f.write(b"end")
    oracle = hashlib.sha256()
    zeros = bytes(8 << 20)
    remaining = size - 3
    while remaining:
        n = min(remaining, len(zeros))
        oracle.update(zeros[:n])
        remaining -= n
    oracle.update(b"end")
    assert hash_file(path) == oracle.hexdigest()


def test_hash_files_keeps_input_order_and_reports_progress(tmp_path):
    paths = []
    for i in range(40):
        p = tmp_path / f"{i:02d}"
        p.write_bytes(os.urandom(i * 1000))
        paths.append(p)
    seen: list[tuple[int, int]] = []
    got = hash_files(list(reversed(paths)), threads=2, progress=lambda *done: seen.append(done))
    assert got == [hashlib.sha256(p.read_bytes()).hexdigest() for p in reversed(paths)]
    assert seen[-1] == (sum(i * 1000 for i in range(40)), 40)  # bytes and files done


def test_progress_callback_that_raises_stops_the_work(tmp_path):
    path = tmp_path / "big"
    with open(path, "wb") as f:
        f.truncate(3 << 30)

    def stop(done: int, files: int) -> None:
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        hash_files([path], progress=stop)


def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "missing.safetensors"
    with pytest.raises(FileNotFoundError) as info:
        hash_file(missing)
    assert info.value.filename == str(missing)
    assert "missing.safetensors" in str(info.value)


def test_directory_passed_as_a_file_names_the_path(tmp_path):
    with pytest.raises(IsADirectoryError) as info:
        hash_file(tmp_path)
    assert info.value.filename == str(tmp_path)


def test_unreadable_file_names_the_path(tmp_path):
    path = tmp_path / "secret"
    path.write_bytes(b"x")
    path.chmod(0)
    if os.geteuid() != 0:
        with pytest.raises(PermissionError) as info:
            hash_file(path)
        assert info.value.filename == str(path)
        return
    # Root reads any file: check from a child that drops to the unprivileged user "nobody".
    tmp_path.chmod(0o755)
    child = (
        "import os, sys\n"
        "from receiptcore import hash_file\n"  # import first: 'nobody' may not read the stdlib
        "os.setgid(65534); os.setuid(65534)\n"
        "try: hash_file(sys.argv[1])\n"
        "except PermissionError as e: print(e.filename)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", child, str(path)], capture_output=True, text=True, check=False
    )
    assert out.stdout.strip() == str(path), out.stderr


def test_a_fifo_is_refused_not_read_forever(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # Opening a FIFO for reading blocks until a writer comes: give it one.
    writer = threading.Thread(target=lambda: open(fifo, "wb").close())
    writer.start()
    with pytest.raises(OSError, match="regular file") as info:
        hash_file(fifo)
    writer.join()
    assert info.value.filename == str(fifo)


def test_file_growing_while_hashed_is_an_error(tmp_path):
    path = tmp_path / "growing.bin"
    with open(path, "wb") as f:
        f.truncate(1 << 30)
    appended = threading.Event()

    def grow(done: int, files: int) -> None:
        if not appended.is_set():
            with open(path, "ab") as f:
                f.write(b"more")
            appended.set()

    with pytest.raises(FileChangedError, match="growing.bin") as info:
        hash_files([path], progress=grow)
    assert isinstance(info.value, ReceiptcoreError)


def test_non_utf8_file_names_work(tmp_path):
    name = os.fsencode(tmp_path) + b"/caf\xe9.bin"
    with open(name, "wb") as f:
        f.write(b"abc")
    assert hash_file(name) == FIPS_180_4[0][1]
    assert hash_files([os.fsdecode(name)]) == [FIPS_180_4[0][1]]


def test_hashing_releases_the_gil(tmp_path):
    """While a native thread hashes a large file, another Python thread keeps running."""
    path = tmp_path / "big"
    with open(path, "wb") as f:
        f.truncate(1 << 30)
    done = threading.Event()
    ticks = 0

    def hash_in_background() -> None:
        hash_file(path)
        done.set()

    worker = threading.Thread(target=hash_in_background)
    worker.start()
    while not done.is_set():
        ticks += 1
        done.wait(0.001)
    worker.join()
    assert ticks > 5


@pytest.mark.parametrize("algo", ["sha256", "blake3"])
def test_hashing_8_gib_grows_the_process_by_less_than_64_mib(algo, tmp_path):
    """Peak RSS of a fresh process, before and after hashing an 8 GiB sparse file."""
    path = tmp_path / "eight.bin"
    with open(path, "wb") as f:
        f.truncate(8 << 30)
    child = (
        "import resource, sys\n"
        "from receiptcore import hash_file\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "hash_file(sys.argv[1], algo=sys.argv[2])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", child, str(path), algo], capture_output=True, text=True, check=True
    )
    grown_kib = int(out.stdout)
    assert grown_kib < 64 * 1024, f"peak RSS grew by {grown_kib} KiB"

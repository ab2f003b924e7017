"""Number serialization against oracles we did not write: the reference implementation's ES6
number file (and its published hash, reproduced from the file's documented algorithm) and
Node.js's own ``JSON.stringify`` over more than a million doubles."""

import gzip
import hashlib
import shutil
import struct
import subprocess

import numpy as np
import pytest

from receiptcore import canonicalize, canonicalize_json

ES6_FILE = "rfc8785/es6numbers/es6testfile100k.txt.gz"
# Published in the vectors README (from the reference implementation's testdata README).
SHA256_FIRST_100K = "22776e6d4b49fa294a0d0f349268e5c28808fe7e0cb2bcbe28f63894e494d4c7"
SHA256_FIRST_1M = "49415fee2c56c77864931bd3624faad425c3c577d6d74e89a83bc725506dad16"
SERIAL_COUNT = 2000
SERIAL_START = 0x0010000000000000


def format_all(values):
    """Our canonical form of each double, in one native call."""
    return canonicalize(values)[1:-1].split(b",") if values else []


def bits_of(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


@pytest.fixture
def es6_lines(vectors):
    data = gzip.decompress((vectors / ES6_FILE).read_bytes())
    assert hashlib.sha256(data).hexdigest() == SHA256_FIRST_100K
    return data.splitlines()


def test_es6_number_file_first_100k_lines(es6_lines):
    assert len(es6_lines) == 100_000
    values, expected = [], []
    for line in es6_lines:
        hex_bits, want = line.split(b",")
        values.append(struct.unpack("<d", struct.pack("<Q", int(hex_bits, 16)))[0])
        expected.append(want)
    got = format_all(values)
    wrong = [(l, g) for l, g, w in zip(es6_lines, got, expected) if g != w]
    assert not wrong, f"{len(wrong)} mismatches, first: {wrong[:5]}"


def es6_generator(static_bits):
    """The reference implementation's documented number sequence (testdata/numgen): the static
    edge cases, then 2000 consecutive doubles from the smallest normal up, then doubles read
    little-endian from a sha256 chain that starts at 32 zero bytes (skipping zeros, NaN and
    infinities)."""
    yield from static_bits
    yield from range(SERIAL_START, SERIAL_START + SERIAL_COUNT)
    block = bytes(32)
    while True:
        block = hashlib.sha256(block).digest()
        for bits, x in zip(struct.unpack("<4Q", block), struct.unpack("<4d", block)):
            if x != 0.0 and x - x == 0.0:  # finite and not zero
                yield bits


def static_prefix(es6_lines):
    """The edge cases that open the file: everything before the 2000-double serial run."""
    bits = [int(line.split(b",")[0], 16) for line in es6_lines[:5000]]
    for i in range(len(bits) - SERIAL_COUNT):
        if bits[i : i + SERIAL_COUNT] == list(range(SERIAL_START, SERIAL_START + SERIAL_COUNT)):
            return bits[:i]
    raise AssertionError("no serial run in the ES6 number file")


def test_es6_number_file_first_million_lines_reproduce_the_published_hash(es6_lines):
    generator = es6_generator(static_prefix(es6_lines))
    bits = [next(generator) for _ in range(1_000_000)]
    values = list(struct.unpack(f"<{len(bits)}d", struct.pack(f"<{len(bits)}Q", *bits)))
    text = b"".join(b"%x,%s\n" % pair for pair in zip(bits, format_all(values)))
    assert text.startswith(b"\n".join(es6_lines) + b"\n")
    assert hashlib.sha256(text).hexdigest() == SHA256_FIRST_1M


# --- Node.js as the oracle -------------------------------------------------------------------

NODE_FORMAT = r"""
const fs = require("fs");
const raw = fs.readFileSync(process.argv[2]);
const values = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
const out = new Array(values.length);
for (let i = 0; i < values.length; i++) out[i] = JSON.stringify(values[i]);
fs.writeFileSync(process.argv[3], out.join(","));
"""


def oracle_doubles():
    """More than a million finite doubles: random bit patterns, integers, short decimals,
    powers of ten, and runs of neighbours around every boundary of the format."""
    with np.errstate(over="ignore"):  # neighbours of the largest double run into infinity
        return _oracle_doubles(np.random.default_rng(8785))


def _oracle_doubles(rng):
    parts = []
    bits = rng.integers(0, 2**64, size=600_000, dtype=np.uint64, endpoint=False)
    parts.append(bits.view(np.float64))
    parts.append(rng.integers(-(2**53), 2**53, size=100_000).astype(np.float64))
    parts.append(rng.integers(-(10**6), 10**6, size=50_000).astype(np.float64))
    # Integers past 2^53, where ECMAScript pads the shortest digits with zeros up to 1e21.
    parts.append(
        np.ldexp(
            rng.integers(2**52, 2**53, size=50_000).astype(np.float64),
            rng.integers(1, 30, size=50_000),
        )
    )
    # Short decimals, as real documents hold them.
    for digits in range(1, 8):
        parts.append(np.round(rng.uniform(-1e4, 1e4, size=20_000), digits))
    powers = np.array([float(f"1e{k}") for k in range(-323, 309)])
    boundaries = np.concatenate(
        [
            powers,
            powers * 2,
            powers * 5,
            [
                1e21,
                1e-6,
                1e-7,
                5e-324,
                2.0**53,
                2.0**-1022,
                2.0**1023,
                np.finfo(np.float64).max,
                0.1,
                0.2,
                0.3,
                1 / 3,
                2 / 3,
                9007199254740993.0,
                295147905179352830000.0,
            ],
        ]
    )
    # 40 neighbours on each side of each boundary, in units in the last place.
    up, down = boundaries.copy(), boundaries.copy()
    for _ in range(40):
        up = np.nextafter(up, np.inf)
        down = np.nextafter(down, -np.inf)
        parts.extend([up.copy(), down.copy()])
    parts.append(boundaries)
    values = np.concatenate(parts)
    values = np.concatenate([values, -values])
    return values[np.isfinite(values)]


@pytest.mark.skipif(shutil.which("node") is None, reason="node (Node.js) is not installed")
def test_numbers_match_nodejs_json_stringify_on_a_million_doubles(tmp_path):
    values = oracle_doubles()
    assert len(values) >= 1_000_000
    source, script, result = tmp_path / "in.f64", tmp_path / "fmt.js", tmp_path / "out.txt"
    source.write_bytes(values.astype("<f8").tobytes())
    script.write_text(NODE_FORMAT)
    subprocess.run(
        [shutil.which("node"), str(script), str(source), str(result)], check=True, timeout=300
    )
    node = result.read_bytes()
    ours = canonicalize(values.tolist())
    if ours[1:-1] != node:
        pairs = zip(values.tolist(), ours[1:-1].split(b","), node.split(b","))
        wrong = [(x.hex(), o, n) for x, o, n in pairs if o != n]
        pytest.fail(f"{len(wrong)} differ from node, first: {wrong[:5]}")
    # Reading node's text back gives the same bytes: the parser rounds to the same doubles.
    assert canonicalize_json(b"[" + node + b"]") == ours

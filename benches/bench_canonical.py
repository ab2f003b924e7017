"""Canonical JSON + sha256: receiptcore against the other ways to get a digest of a JSON value.

Workloads: a realistic ~10 MB dataset manifest (thousands of file entries with paths, sizes,
digests, timestamps) and a number-heavy document (embedding statistics). Anchors:
``rfc8785`` (conformant, pure Python), ``canonicaljson`` (sorted ``json.dumps``; not RFC 8785 for
numbers) and ``orjson`` with ``OPT_SORT_KEYS`` (not conformant: the speed reference), each
followed by ``hashlib.sha256``. Best of several runs, measured side by side in one process.

    python benches/bench_canonical.py [--repeat N]
"""

from __future__ import annotations

import argparse
import hashlib
import random

import canonicaljson
import orjson
import rfc8785

import receiptcore
from _common import best_of, table


def manifest(target_bytes=10 << 20):
    rng = random.Random(8785)
    files = []
    size = 0
    i = 0
    while size < target_bytes:
        shard = i // 1000
        entry = {
            "path": f"corpus/lang={rng.choice(['en', 'de', 'fr', 'ja'])}/shard-{shard:05d}/"
            f"part-{i:07d}.parquet",
            "size": rng.randrange(1, 2**34),
            "sha256": rng.randbytes(32).hex(),
            "mtime": 1_700_000_000 + rng.random() * 1e7,
            "media_type": "application/vnd.apache.parquet",
            "rows": rng.randrange(10_000, 2_000_000),
            "license": rng.choice(["cc-by-4.0", "apache-2.0", "mit"]),
            "tags": rng.sample(["train", "eval", "dedup", "pii-scrubbed", "v2"], 2),
        }
        files.append(entry)
        size += 300  # about the canonical size of one entry
        i += 1
    return {
        "schema": "receiptcore.dataset-manifest/v1",
        "name": "corpus-2026-11",
        "created": "2026-11-25T12:00:00Z",
        "files": files,
        "totals": {"files": len(files), "bytes": sum(f["size"] for f in files)},
    }


def numbers(count=400_000):
    rng = random.Random(1)
    return {
        "model": "embedder-v3",
        "stats": [
            {
                "mean": rng.gauss(0, 1),
                "std": rng.random(),
                "min": -rng.random() * 10,
                "max": rng.random() * 10,
                "count": rng.randrange(1, 2**31),
            }
            for _ in range(count // 5)
        ],
        "vector": [rng.uniform(-1, 1) for _ in range(count)],
    }


CONTENDERS = {
    "receiptcore.canonical_sha256": receiptcore.canonical_sha256,
    "receiptcore.canonicalize + hashlib": lambda v: hashlib.sha256(
        receiptcore.canonicalize(v)
    ).hexdigest(),
    "rfc8785 + hashlib": lambda v: hashlib.sha256(rfc8785.dumps(v)).hexdigest(),
    "canonicaljson + hashlib": lambda v: hashlib.sha256(
        canonicaljson.encode_canonical_json(v)
    ).hexdigest(),
    "orjson OPT_SORT_KEYS + hashlib (not RFC 8785)": lambda v: hashlib.sha256(
        orjson.dumps(v, option=orjson.OPT_SORT_KEYS)
    ).hexdigest(),
}
OURS = "receiptcore.canonical_sha256"
# Conformant on these workloads, so their digests must agree with ours.
CONFORMANT = (OURS, "receiptcore.canonicalize + hashlib", "rfc8785 + hashlib")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per tool (the best is kept)")
    args = parser.parse_args()

    workloads = {
        "a 10 MB dataset manifest": manifest(),
        "a number-heavy document (720,000 doubles)": numbers(),
    }
    for title, value in workloads.items():
        size = len(receiptcore.canonicalize(value))
        digests = {name: CONTENDERS[name](value) for name in CONFORMANT}
        assert len(set(digests.values())) == 1, f"conformant digests disagree: {digests}"
        rows = []
        for name, function in CONTENDERS.items():
            # rfc8785 is pure Python and takes seconds: two runs are enough to see it.
            repeat = 2 if name.startswith("rfc8785") else args.repeat
            rows.append((name, best_of(lambda f=function, v=value: f(v), repeat)))
        table(f"{title}: {size / 1e6:.1f} MB canonical", rows, size, OURS)


if __name__ == "__main__":
    main()

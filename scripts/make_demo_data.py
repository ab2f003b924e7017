"""Writes a small fake checkpoint folder (4 shards of 128 MiB, random bytes) for `make demo`.

Kept out of git: the demo makes its data, as tests do. Existing shards of the right size are
reused, so running the demo twice does not rewrite 512 MiB.
"""

import os
import sys

SHARDS, SHARD_BYTES, BLOCK = 4, 128 << 20, 8 << 20


def main(folder: str) -> None:
    os.makedirs(folder, exist_ok=True)
    for i in range(SHARDS):
        path = os.path.join(folder, f"model-{i + 1:05d}-of-{SHARDS:05d}.bin")
        if os.path.exists(path) and os.path.getsize(path) == SHARD_BYTES:
            continue
        with open(path, "wb") as f:
            f.writelines(os.urandom(BLOCK) for _ in range(SHARD_BYTES // BLOCK))
    print(f"demo data: {SHARDS} x {SHARD_BYTES >> 20} MiB in {folder}/", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])

"""The C2SP tlog-tiles read API (https://c2sp.org/tlog-tiles): the log as static tiles.

A tile at level L, index N holds up to 256 consecutive hashes of the tree's level 8·L (level 0:
the leaf hashes), i.e. our stored perfect subtrees of level 8·L numbered N·256 … N·256+255; a
partial tile ``.p/W`` holds the first W. An entry bundle holds the entries of leaf tile N, each
as a big-endian uint16 length and the entry's bytes. Paths write N in groups of three digits,
all but the last prefixed with ``x`` (1234067 → ``x001/x234/067``).
"""

from __future__ import annotations

import re

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_ENTRY = 0xFFFF
_GROUP = re.compile(r"x\d{3}")


def tile_path(level: int | str, index: int, width: int = TILE_WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]`` (level ``"entries"`` for an entry bundle)."""
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.insert(0, f"x{index % 1000:03d}")
        index //= 1000
    path = f"tile/{level}/" + "/".join(groups)
    return path if width == TILE_WIDTH else f"{path}.p/{width}"


def parse_tile_path(parts: list[str]) -> tuple[str, int, int]:
    """``(level, index, width)`` of the path segments after ``tile/``; ValueError if malformed."""
    if len(parts) < 2:
        raise ValueError("a tile path is tile/<L>/<N>")
    level, rest = parts[0], parts[1:]
    if level != "entries" and not re.fullmatch(r"\d{1,2}", level):
        raise ValueError(f"bad tile level {level!r}")
    width = TILE_WIDTH
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        if not re.fullmatch(r"[1-9]\d{0,2}", rest[-1]) or int(rest[-1]) >= TILE_WIDTH:
            raise ValueError(f"bad partial tile width {rest[-1]!r}")
        width = int(rest[-1])
        rest = rest[:-2] + [rest[-2][:-2]]
    if not re.fullmatch(r"\d{3}", rest[-1]) or not all(_GROUP.fullmatch(g) for g in rest[:-1]):
        raise ValueError("bad tile index")
    index = 0
    for group in rest:
        index = index * 1000 + int(group.lstrip("x"))
    return level, index, width


def entry_bundle(entries: list[bytes]) -> bytes:
    return b"".join(len(e).to_bytes(2, "big") + e for e in entries)


def parse_bundle(data: bytes) -> list[bytes]:
    """The entries of a bundle; ValueError if it is truncated."""
    entries, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise ValueError("entry bundle is truncated")
        size = int.from_bytes(data[pos : pos + 2], "big")
        if pos + 2 + size > len(data):
            raise ValueError("entry bundle is truncated")
        entries.append(data[pos + 2 : pos + 2 + size])
        pos += 2 + size
    return entries

"""docs/pipelines.md tells the truth about what the pipelines write and refuse."""

from __future__ import annotations

import dataclasses
import re

from pipelines.corpus import JSONL_SUFFIXES, TEXT_SUFFIXES
from pipelines.formats import ChunkRow
from receiptcore.errors import ExitCode
from support.paths import REPO

DOC = (REPO / "docs" / "pipelines.md").read_text(encoding="utf-8")


def test_the_chunk_table_keys_are_the_ones_written():
    section = DOC[DOC.index("**Chunk table**"):DOC.index("`pipelines/query.py`")]
    documented = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            documented.update(re.findall(r"`(\w+)`", line.split("|")[1]))
    assert documented == {f.name for f in dataclasses.fields(ChunkRow)}


def test_the_embedded_file_kinds_are_the_ones_read():
    for suffix in TEXT_SUFFIXES + JSONL_SUFFIXES:
        assert f"`{suffix}`" in DOC


def test_the_pipelines_exit_codes_are_the_catalogues():
    assert f"| {int(ExitCode.CORPUS)} |" in DOC and f"| {int(ExitCode.DIMENSION_MISMATCH)} |" in DOC
    assert f"| {int(ExitCode.INTERRUPTED)} |" in DOC

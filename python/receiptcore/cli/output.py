"""The one way a command prints: its result as JSON for machines (``--json``), else as text for
people, and warnings on stderr. Errors are printed by :func:`receiptcore.cli.main`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

_PIECE = 1 << 16


def emit(args: argparse.Namespace, data: Any, text: str | bytes | None = None) -> None:
    """Print ``data`` as indented JSON when ``--json`` was given, else ``text``.

    ``text`` may be bytes (paths that are not UTF-8 are printed as their own bytes). Values JSON
    does not know (a :class:`~receiptcore.commit.Commit`, a path) are written as ``str()``.
    """
    if getattr(args, "json", False):
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    if text is None:
        return
    if isinstance(text, str):
        text = (text if text.endswith("\n") else text + "\n").encode("utf-8", "surrogateescape")
    # In pieces: one write(2) larger than the pipe returns short when the reader goes away
    # (`| head`) and the rest is silently dropped; a later piece gets EPIPE, which the CLI
    # reports as exit 141.
    out = sys.stdout.buffer
    for start in range(0, len(text), _PIECE):
        out.write(text[start : start + _PIECE])
    out.flush()


def warn(message: str) -> None:
    """One line on stderr that does not fail the command."""
    print(f"receiptcore: warning: {message}", file=sys.stderr)


def note(message: str) -> None:
    """One line on stderr for a person watching (what was written where)."""
    print(message, file=sys.stderr)

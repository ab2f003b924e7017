"""The options several commands share, each declared once with one help text.

A command asks for them by name (``add(parser, "json", "home")``) instead of spelling them out,
so ``--home`` means the same folder, and says so in the same words, wherever it appears.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def count(minimum: int) -> Callable[[str], int]:
    """An argparse ``type``: a whole number from ``minimum`` up to 2**63-1 (what a thread count
    or a ledger index can be), refused as a usage error otherwise, never a traceback."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not minimum <= value < 1 << 63:
            raise argparse.ArgumentTypeError(f"must be from {minimum} to 2**63-1, not {text}")
        return value

    return parse


_SHARED: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "threads": (
        ("--threads",),
        {"type": count(1), "default": None, "help": "hashing threads (default: one per core)"},
    ),
    "json": (
        ("--json",),
        {"action": "store_true", "help": "print the result as JSON, for machines"},
    ),
    "home": (
        ("--home",),
        {
            "metavar": "DIR",
            "help": "the folder of the embedded ledger, artifact store and keys (default: "
            "$RECEIPTCORE_HOME, else the nearest .receiptcore/ here or in a folder above)",
        },
    ),
    "ledger": (
        ("--ledger",),
        {
            "metavar": "URL",
            "help": "the ledger: sqlite:///DIR, postgresql://…, or http(s)://… of a receiptcore "
            "serve (default: $RECEIPTCORE_LEDGER, else the config file, else the SQLite ledger "
            "in <home>)",
        },
    ),
    "store": (
        ("--store",),
        {
            "metavar": "URL",
            "help": "the artifact store: a folder, s3://BUCKET/PREFIX or gs://BUCKET/PREFIX "
            "(default: $RECEIPTCORE_STORE, else the config file, else <home>/objects)",
        },
    ),
    "trust": (
        ("--trust",),
        {
            "metavar": "FILE",
            "help": "the trust file: the public keys whose receipts are accepted "
            "(verify's default: $RECEIPTCORE_TRUST, else <home>/trust.json)",
        },
    ),
    "ledger_key": (
        ("--ledger-key",),
        {
            "metavar": "VKEY",
            "help": "the ledger's verifier key, or a file holding it "
            "(default: the key pinned when this verifier first used the ledger)",
        },
    ),
    "state": (
        ("--state",),
        {
            "metavar": "DIR",
            "help": "where this verifier remembers the checkpoints it trusted "
            "(default: $RECEIPTCORE_STATE, else $XDG_STATE_HOME/receiptcore)",
        },
    ),
    "mode": (
        ("--mode",),
        {
            "choices": ("enforce", "warn"),
            "help": "enforce: a failure exits with its code; warn: report it and exit 0, the "
            "rollback switch (default: $RECEIPTCORE_VERIFY_MODE for verify, the configured mode "
            "for scan, else enforce)",
        },
    ),
    "token": (
        ("--token-file",),
        {
            "metavar": "FILE",
            "help": "a file holding the bearer token of the tool server's HTTP endpoint "
            "(default: $RECEIPTCORE_MCP_TOKEN)",
        },
    ),
    "commit": (
        ("--commit",),
        {
            "metavar": "COMMIT",
            "help": "the version to use, by its artifact_commit (sha256:<hex>, or bare hex); "
            "the same as ID@COMMIT (default: the id's latest version)",
        },
    ),
    "strict": (
        ("--strict",),
        {
            "action": "store_true",
            "help": "for CI: refuse what is otherwise allowed with a warning, trust resting on "
            "the ledger folder itself (its embedded trust file, a ledger key taken on first use)",
        },
    ),
    "follow_symlinks": (
        ("--follow-symlinks",),
        {
            "action": "store_true",
            "help": "read a document (trust file, key, manifest, receipt) named through a "
            "symbolic link, such as a Kubernetes secret volume's (default: refused)",
        },
    ),
    "progress": (
        ("--no-progress",),
        {
            "action": "store_true",
            "help": "never show a progress bar (one is shown only when stderr is a terminal)",
        },
    ),
}

NAMES = tuple(_SHARED)

ENV_TOKEN = "RECEIPTCORE_MCP_TOKEN"


def token(args: argparse.Namespace) -> str | None:
    """The bearer token: ``--token-file``'s first line, else ``$RECEIPTCORE_MCP_TOKEN``."""
    import os

    if getattr(args, "token_file", None):
        with open(args.token_file, encoding="utf-8") as source:
            text = source.readline().strip()
        if not text:
            raise ValueError(f"{args.token_file}: the token file is empty")
        return text
    return os.environ.get(ENV_TOKEN) or None


def add(parser: argparse.ArgumentParser, *names: str) -> None:
    """Add the shared options ``names`` to ``parser``, in the order given."""
    for name in names:
        flags, settings = _SHARED[name]
        parser.add_argument(*flags, **settings)


def command(
    subparsers: argparse._SubParsersAction, name: str, *, help: str,
    description: str | None = None, epilog: str | None = None,
) -> argparse.ArgumentParser:
    """A (sub)command's parser, laid out like every other: the description says what it does
    (default: its one-line help), the examples are kept as written."""
    return subparsers.add_parser(
        name,
        help=help,
        description=description or help[:1].upper() + help[1:] + ".",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )

"""The ``receiptcore`` command line.

Each subcommand lives in :mod:`receiptcore.commands` as a module with ``add_parser(subparsers)``
that sets ``func(args) -> int`` on its parser. Errors are turned into one line on stderr and an
exit code here, in one place:

====  =====================================================================
code  meaning
====  =====================================================================
0     success
1     the check ran and failed (verification failure, scan findings)
2     usage or configuration error (bad flags, bad config, trust file, unknown algo)
3     a file could not be read (missing, unreadable, a directory...)
4     a file changed while it was being hashed
5     a document is not valid JSON or breaks its contract (SchemaError)
6     a signature does not verify (SignatureInvalid)
7     signed by a key the trust file does not list (UntrustedKey)
8     signing key missing, unreadable, not Ed25519, or would be overwritten (SigningKeyError)
9     bytes do not match their claimed commit (DigestMismatch)
10    the artifact store has no object for that commit (ObjectNotFound)
11    no receipt for the artifact in the ledger (NotInLedger)
12    a Merkle inclusion or consistency proof does not verify (ProofError)
13    a checkpoint is malformed or not signed by the ledger key (CheckpointError)
14    the ledger was rolled back or forked since this verifier last trusted it (RollbackDetected)
15    the ledger does not recompute; the message names the first bad entry (LedgerCorrupt)
130   interrupted (Ctrl-C)
141   the reader of stdout went away (`... | head`): nothing is printed
====  =====================================================================
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from receiptcore.errors import FileChangedError, ReceiptcoreError

COMMANDS = ("hash", "manifest", "keys", "receipt", "publish", "verify", "ledger", "scan")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_IO, EXIT_CHANGED, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
EXIT_BROKEN_PIPE = 141  # what a shell reports for a command ended by SIGPIPE


def exit_code_for(error: BaseException) -> int:
    """Exit code for an exception: the ``exit_code`` of our errors, else by kind."""
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(error, FileChangedError):
        return EXIT_CHANGED
    code = getattr(error, "exit_code", None)
    if isinstance(code, int):
        return code
    if isinstance(error, OSError):
        return EXIT_IO
    if isinstance(error, ValueError):
        return EXIT_USAGE
    return EXIT_FAILED


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole CLI, or only ``command``'s part: a pre-commit hook runs ``scan`` on every
    commit, and importing and building the other seven commands was a third of its start-up."""
    parser = argparse.ArgumentParser(
        prog="receiptcore",
        description=(
            "Keep weights, datasets and indexes out of a runtime repository, and prove with "
            "signed receipts in an append-only ledger that every artifact used is the one a "
            "pipeline built."
        ),
        epilog="Run 'receiptcore COMMAND --help' for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS if command not in COMMANDS else (command,):
        importlib.import_module(f"receiptcore.commands.{name}").add_parser(subparsers)
    return parser


def _version() -> str:
    from receiptcore import __version__

    return f"receiptcore {__version__}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # The command is the first word, when no option comes before it (only --help and
    # --version can, and they need the whole parser, as does a word that is not a command).
    command = argv[0] if argv and not argv[0].startswith("-") else None
    args = build_parser(command).parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:
        # The reader went away (`receiptcore hash dir | head`): not a failure to report. Point
        # stdout at /dev/null so the interpreter's final flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (ReceiptcoreError, OSError, ValueError, KeyboardInterrupt) as error:
        message = str(error) or type(error).__name__
        print(f"receiptcore: error: {message}", file=sys.stderr)
        return exit_code_for(error)


if __name__ == "__main__":
    sys.exit(main())

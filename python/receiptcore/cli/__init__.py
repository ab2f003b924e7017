"""The ``receiptcore`` command line.

Each subcommand lives in :mod:`receiptcore.cli.commands` as a module with ``add_parser(subparsers)``
that sets ``func(args) -> int`` on its parser. Errors are turned into one line on stderr and the
exit code the error catalogue gives them (:mod:`receiptcore.errors`), here, in one place.

Other distributions add commands through the entry point group ``receiptcore.commands`` (name:
the command, value: its ``add_parser``). That is how ``receiptcore pipeline`` arrives with the
models-side package (``pipelines/``) without the library ever importing it: the import happens
only when the entry point is loaded, and the project's own scan proves no static import exists.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys

from receiptcore.errors import ExitCode, ReceiptcoreError, exit_code_for, exit_code_table
from receiptcore.util.reading import FOLLOW_SYMLINKS

COMMANDS = (
    "hash", "manifest", "keys", "receipt", "publish", "verify", "fetch", "ledger", "serve",
    "scan", "mcp", "tool", "externalize", "pull",
)
PLUGIN_GROUP = "receiptcore.commands"


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
        epilog="Run 'receiptcore COMMAND --help' for a command's options and examples.\n\n"
        f"exit codes:\n{exit_code_table()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS if command not in COMMANDS else (command,):
        importlib.import_module(f"receiptcore.cli.commands.{name}").add_parser(subparsers)
    if command not in COMMANDS:
        plugins = plugin_commands()
        for entry in [e for e in plugins if e.name == command] or plugins:
            try:
                add_parser = entry.load()
            except ImportError as error:
                if entry.name == command:
                    raise
                # A broken plugin costs its own command, never the verifier's.
                from receiptcore.cli.output import warn

                warn(f"command {entry.name!r} ({entry.value}) cannot be loaded: {error}")
                continue
            add_parser(subparsers)
    return parser


def plugin_commands() -> list[importlib.metadata.EntryPoint]:
    """Commands that other installed distributions add, sorted by name; a plugin may not take
    the name of a built-in command. (``importlib.metadata`` is imported here, not above: with
    the email and zipfile modules it pulls in, it was a third of a ``scan``'s start-up.)"""
    import importlib.metadata

    found = importlib.metadata.entry_points(group=PLUGIN_GROUP)
    return sorted((e for e in found if e.name not in COMMANDS), key=lambda e: e.name)


def _version() -> str:
    from receiptcore._core import __version__

    return f"receiptcore {__version__}"


def entry() -> None:
    """The ``receiptcore`` command: :func:`main`, then the process ends. What the command made
    is frozen first, so the interpreter's last garbage collection, on the way out, does not walk
    every object again (about 10 ms of a 0.3 s scan of 100,000 files)."""
    code = main()
    gc.freeze()
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # The command is the first word, when no option comes before it (only --help and
    # --version can, and they need the whole parser, as does a word that is not a command).
    command = argv[0] if argv and not argv[0].startswith("-") else None
    args = build_parser(command).parse_args(argv)
    FOLLOW_SYMLINKS.set(getattr(args, "follow_symlinks", False))
    try:
        return int(args.func(args))
    except BrokenPipeError:
        # The reader went away (`receiptcore hash dir | head`): not a failure to report. Point
        # stdout at /dev/null so the interpreter's final flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.BROKEN_PIPE
    except KeyboardInterrupt as error:
        print("receiptcore: error: interrupted", file=sys.stderr)
        return int(exit_code_for(error))
    except (ReceiptcoreError, OSError, ValueError) as error:
        print(f"receiptcore: error: {describe(error)}", file=sys.stderr)
        return int(exit_code_for(error))


def describe(error: BaseException) -> str:
    """One line for a person: a system error as ``<path>: <what went wrong>`` (never Python's
    ``[Errno 2] ...: 'path'``), anything else as its message."""
    if isinstance(error, OSError) and error.strerror and error.filename is not None:
        where = os.fsdecode(error.filename)
        if error.filename2 is not None:
            where += f" -> {os.fsdecode(error.filename2)}"
        return f"{where}: {error.strerror}"
    return " ".join(str(error).split("\n")) or type(error).__name__

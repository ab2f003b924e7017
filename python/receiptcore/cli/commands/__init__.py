"""One module per ``receiptcore`` subcommand, each with ``add_parser(subparsers)``; see
:mod:`receiptcore.cli`."""

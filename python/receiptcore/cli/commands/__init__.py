"""One module per ``receiptcore`` subcommand; see :mod:`receiptcore.cli`."""

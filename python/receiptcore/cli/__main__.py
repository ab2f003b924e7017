"""``python -m receiptcore.cli``: the same as the ``receiptcore`` command."""

from receiptcore.cli import entry

entry()

"""``python -m receiptcore.cli``: the same as the ``receiptcore`` command."""

import sys

from receiptcore.cli import main

sys.exit(main())

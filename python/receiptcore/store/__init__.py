"""The artifact store: content-addressed, immutable objects named by their ``artifact_commit``.

The embedded default is :class:`LocalStore`, a folder under ``.receiptcore/objects/``.
"""

from receiptcore.store.local import LocalStore, VerifyingReader

__all__ = ["LocalStore", "VerifyingReader"]

"""The artifact store: content-addressed, immutable objects named by their ``artifact_commit``.

:mod:`.base` is the :class:`~.base.Store` protocol; :func:`open_store` picks the backend by URL:
:class:`LocalStore`, a folder (the embedded default, ``.receiptcore/objects/``), or
:class:`~.s3.ObjectStore` for ``s3://bucket/prefix`` and ``gs://bucket/prefix`` (the ``s3``
extra). Which URL: :mod:`receiptcore.util.locations`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from receiptcore.errors import ConfigError
from receiptcore.store.base import VerifyingReader
from receiptcore.store.local import LocalStore
from receiptcore.util.home import home_dir
from receiptcore.util.locations import store_url

if TYPE_CHECKING:
    from receiptcore.store.base import Store


def open_store(
    url: str | os.PathLike[str] | None = None, *, home: str | os.PathLike[str] | None = None
) -> Store:
    """The store at ``url`` (None: ``--store``'s fallbacks, else ``<home>/objects``)."""
    url = store_url(url)
    if url is None:
        return LocalStore(home_dir(home) / "objects")
    text = os.fspath(url)
    scheme = urlsplit(text).scheme
    if scheme == "":
        return LocalStore(Path(text))
    if scheme == "file":
        return LocalStore(Path(unquote(urlsplit(text).path)))
    if scheme in ("s3", "gs"):
        try:
            from receiptcore.store.s3 import ObjectStore
        except ImportError as error:  # pragma: no cover - the s3 extra is missing
            raise ConfigError(
                f"an object-storage store needs obstore: pip install 'receiptcore[s3]' ({error})"
            ) from None
        return ObjectStore(text)
    raise ConfigError(f"unknown store URL {text!r}: use a folder, s3://bucket/prefix or gs://…")


__all__ = ["LocalStore", "VerifyingReader", "open_store"]

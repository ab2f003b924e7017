"""Reading a file a user named, safely: a regular file, not through a symlink, never hanging,
and never more than a documented number of bytes.

Every document receiptcore reads (trust files, keys, manifests, receipts, the verifier's state)
comes through :func:`read_document`, and every file it hashes or stores is opened by
:func:`open_regular`. The checks are made on the open descriptor (``fstat``), so there is no
moment between a check and the open in which the path could be swapped:

- the final component is not followed if it is a symbolic link (``O_NOFOLLOW``), unless the
  caller asks (``follow_symlinks=True``; the CLI's ``--follow-symlinks``, for Kubernetes secret
  volumes, whose files are symlinks): a link planted where a key or trust file is expected
  would otherwise make receiptcore read another file;
- the open does not block (``O_NONBLOCK``): a FIFO opens at once and is then refused, where a
  blocking open would wait forever for a writer;
- anything but a regular file (FIFO, device such as ``/dev/zero``, socket) is refused with
  :class:`~receiptcore.errors.NotRegularFile`, a directory with ``IsADirectoryError``;
- a document larger than its cap in :data:`LIMITS` is refused with
  :class:`~receiptcore.errors.LimitExceeded` before it is read (and a file that grows past the
  cap while it is read is refused too).
"""

from __future__ import annotations

import contextvars
import errno
import os
import stat

from receiptcore.errors import LimitExceeded, NotRegularFile

KiB, MiB = 1 << 10, 1 << 20

LIMITS: dict[str, int] = {
    "trust file": 1 * MiB,
    "receipt": 1 * MiB,
    "manifest": 256 * MiB,
    "key": 64 * KiB,
    "verifier state": 1 * MiB,
}
"""The most bytes read from each kind of document. A receipt is a few KiB and a trust file a
few hundred bytes per key; a dataset manifest lists every file of a corpus (about 150 bytes
each, so 256 MiB is some 1.7 million files: split larger corpora); a key file is one PEM block
or one note key line."""

FOLLOW_SYMLINKS: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "receiptcore_follow_symlinks", default=False
)
"""Whether a final symbolic link is followed when the caller does not say (the CLI sets it from
``--follow-symlinks``)."""


def open_regular(path: str | os.PathLike[str], follow_symlinks: bool | None = None) -> int:
    """A read-only descriptor of the regular file at ``path`` (the caller closes it).

    Raises NotRegularFile for a symlink (unless followed), FIFO, device or socket,
    IsADirectoryError for a directory, and the usual OSError (``FileNotFoundError``...) naming
    the path."""
    path = os.fspath(path)
    follow = FOLLOW_SYMLINKS.get() if follow_symlinks is None else follow_symlinks
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        if error.errno == errno.ELOOP and not follow and os.path.islink(path):
            raise NotRegularFile(
                f"{path}: is a symbolic link; not followed (name the file itself, or pass "
                "--follow-symlinks)"
            ) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        if not stat.S_ISREG(mode):
            raise NotRegularFile(f"{path}: {_kind(mode)}, not a regular file; not read")
        # A regular file never blocks; clearing the flag keeps later reads plain.
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def artifact_source(path: str | os.PathLike[str], follow_symlinks: bool | None = None) -> str:
    """The path of the regular file to store for ``path``: itself, or where its final symbolic
    link leads when followed (``--follow-symlinks``), checked as :func:`open_regular` checks it
    (NotRegularFile for a symlink not followed, a FIFO, a device such as ``/dev/zero``, a
    socket), so that nothing is copied from what only looks like a file."""
    os.close(open_regular(path, follow_symlinks))
    return os.path.realpath(path)


def regular_file_mode(path: str | os.PathLike[str]) -> int:
    """The mode of the regular file at ``path`` (not followed if a symlink), for a batch that
    checks every file before it reads any; NotRegularFile otherwise. The read itself checks
    again what it opened."""
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        raise NotRegularFile(f"{os.fspath(path)}: is a symbolic link; not followed")
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", os.fspath(path))
    if not stat.S_ISREG(mode):
        raise NotRegularFile(f"{os.fspath(path)}: {_kind(mode)}, not a regular file; not read")
    return mode


def read_document(
    path: str | os.PathLike[str], what: str, follow_symlinks: bool | None = None
) -> bytes:
    """All bytes of the ``what`` document (a key of :data:`LIMITS`) at ``path``, read from a
    regular file opened as :func:`open_regular` opens it, at most ``LIMITS[what]`` of them."""
    limit = LIMITS[what]
    path = os.fspath(path)
    fd = open_regular(path, follow_symlinks)
    with os.fdopen(fd, "rb") as source:
        size = os.fstat(fd).st_size
        if size > limit:
            raise _too_large(path, what, size, limit)
        data = source.read(limit + 1)
    if len(data) > limit:
        raise _too_large(path, what, len(data), limit)
    return data


def _too_large(path: str, what: str, size: int, limit: int) -> LimitExceeded:
    return LimitExceeded(
        f"{path}: {size} bytes; a {what} is read only up to {limit} bytes ({_human(limit)})"
    )


def _human(n: int) -> str:
    return f"{n // MiB} MiB" if n >= MiB else f"{n // KiB} KiB"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"

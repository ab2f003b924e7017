"""Turning the paths a user gives into the sorted list of files to work on.

Folders are listed by the native walk (:func:`receiptcore._core.walk`, every core, nothing
opened); what counts as a file, and what is an error, is decided here.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable

from receiptcore._core import Entry, walk


def expand_paths(paths: Iterable[str | bytes | os.PathLike[str]]) -> list[tuple[str, int]]:
    """``(path, size)`` of the files named directly, plus every regular file under named
    directories, recursively.

    Directory contents are sorted by path so output is stable. Below a directory, a symlink to
    a file counts (with the size of its target); symlinks to directories are not followed (a
    loop must not hang a scan), and dangling symlinks, pipes, sockets and devices are left out.
    A folder that cannot be listed raises its OSError; a missing path raises
    FileNotFoundError.
    """
    files: list[tuple[str, int]] = []
    for path in paths:
        path = os.fsdecode(path)
        if os.path.isdir(path) and not os.path.islink(path):
            for entry in walk(path, "tree", sniff=False):
                full = os.path.join(path, entry.path)
                if entry.kind == "file" and entry.error is None:
                    files.append((full, entry.size))
                elif entry.kind == "directory":
                    raise_unlisted(full, entry)
                elif os.path.isfile(full):  # a symlink to a file, or a name that is not UTF-8
                    files.append((full, os.stat(full).st_size))
        elif os.path.lexists(path):
            files.append((path, os.stat(path).st_size))
        else:
            raise FileNotFoundError(2, "No such file or directory", path)
    return files


def raise_unlisted(path: str, entry: Entry) -> None:
    """Raises for a folder the walk could not list the OSError ``os.walk`` would have raised
    (PermissionError...), by asking the OS once more."""
    with os.scandir(path):
        pass
    raise OSError(errno.EIO, entry.error, path)  # readable now: the walk's own words

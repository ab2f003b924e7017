"""Turning the paths a user gives into the sorted list of files to work on."""

from __future__ import annotations

import os
from collections.abc import Iterable


def expand_paths(paths: Iterable[str | bytes | os.PathLike[str]]) -> list[str]:
    """Files named directly, plus every regular file under named directories, recursively.

    Directory contents are sorted by path so output is stable; symlinks to directories are not
    followed (a loop must not hang a scan). A missing path raises FileNotFoundError.
    """
    files: list[str] = []
    for path in paths:
        path = os.fsdecode(path)
        if os.path.isdir(path) and not os.path.islink(path):
            found = []
            for root, dirs, names in os.walk(path, onerror=_raise):
                dirs.sort()
                found.extend(os.path.join(root, n) for n in names)
            files.extend(sorted(f for f in found if os.path.isfile(f)))
        elif os.path.lexists(path):
            files.append(path)
        else:
            raise FileNotFoundError(2, "No such file or directory", path)
    return files


def _raise(error: OSError) -> None:
    raise error

"""Writing files so that a reader sees the old content or the new one, never half of either,
and the one lock writers of a shared file queue on.

Both writers write to a temporary file in the target's directory, flush it to disk, then move it
into place in one step; a failure on the way leaves the target as it was and no temporary behind.
A process killed on the way cannot clean up: its temporary (``.<name>.<pid>.<random>.tmp``) is
removed by the next write in that folder, or by :func:`sweep_temporaries`, once no process of
that id runs.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager


def replace_file(path: str | os.PathLike[str], data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path``, replacing any existing file atomically.

    ``mode`` defaults to what a new file would get under the current umask.
    """
    _write_then(path, data, _default_mode() if mode is None else mode, os.replace)


def create_file(path: str | os.PathLike[str], data: bytes, mode: int) -> None:
    """Write ``data`` to a new file ``path`` with ``mode``; ``FileExistsError`` if it exists.

    The file is complete and already has ``mode`` when its name appears (a hard link is how it
    appears, and linking refuses an existing name), so a private key is never readable by others
    even for an instant, and two writers racing for one name cannot both win.
    """
    _write_then(path, data, mode, os.link)


def _write_then(path: str | os.PathLike[str], data: bytes, mode: int, publish) -> None:
    path = os.fspath(path)
    directory = os.path.dirname(path) or "."
    sweep_temporaries(directory)
    try:
        import tempfile  # not at import: every command loads this module, few write

        fd, temporary = tempfile.mkstemp(
            dir=directory, prefix=f".{os.path.basename(path)}.{os.getpid()}.", suffix=".tmp"
        )
    except FileNotFoundError:
        # Name the directory the user gave, not our temporary file inside it.
        raise FileNotFoundError(errno.ENOENT, "No such directory for output", directory) from None
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        publish(temporary, path)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)


def sweep_temporaries(directory: str | os.PathLike[str]) -> None:
    """Remove the temporaries (``.<name>.<pid>.<random>.tmp``) that writers killed in
    ``directory`` left: those of processes that no longer run. Also the one a writer killed
    after a :func:`create_file` linked it into place leaves (nothing writes that name again)."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    for name in names:
        if not (name.startswith(".") and name.endswith(".tmp")):
            continue
        parts = name[: -len(".tmp")].rsplit(".", 2)
        if len(parts) == 3 and parts[1].isdigit() and not pid_running(int(parts[1])):
            try:
                os.unlink(os.path.join(directory, name))
            except FileNotFoundError:
                pass  # another writer swept it first


def pid_running(pid: int) -> bool:
    """Whether a process ``pid`` runs (someone else's counts: it may be writing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Flush a folder's entries to disk: a name made or removed in it survives a crash."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _default_mode() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def exclusive_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the ``with`` block.

    A kernel lock: waiters are woken the moment it is free, and it is released if the holder
    dies, so a killed process never leaves a stale lock behind."""
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield

"""Where the embedded defaults live, in one place.

The *home* holds what a publisher writes: ``ledger.sqlite3`` with its checkpoint key
``ledger.key`` / ``ledger.vkey``, the artifact store ``objects/``, and, made on first use when no
CI key is given, the receipt signing key ``signing.key`` and the ``trust.json`` that lists it.
It is found as git finds ``.git``: ``--home``, else ``$RECEIPTCORE_HOME``, else the nearest
``.receiptcore/`` in the current folder or one above it. ``publish`` makes ``.receiptcore/`` in
the current folder when there is none; every home it makes (or writes to) holds a
``.gitignore`` of ``*``, so that ``git add -A`` never stages the keys or the objects.

The verifier's memory (the last checkpoint it trusted, per ledger) is kept apart, in
``$RECEIPTCORE_STATE`` or ``$XDG_STATE_HOME/receiptcore`` (``~/.local/state/receiptcore``): whoever
can rewrite a ledger folder must not also be able to rewrite what its verifiers remember of it.
"""

from __future__ import annotations

import os
from pathlib import Path

from receiptcore.errors import HomeNotFound

HOME_NAME = ".receiptcore"
GITIGNORE = "*\n"
"""What ``.receiptcore/.gitignore`` holds: git ignores everything in the folder, that file too,
as it does for a virtual environment."""

ENV_HOME = "RECEIPTCORE_HOME"
ENV_STATE = "RECEIPTCORE_STATE"
ENV_TRUST = "RECEIPTCORE_TRUST"
ENV_VERIFY_MODE = "RECEIPTCORE_VERIFY_MODE"

SIGNING_KEY_FILE = "signing.key"
TRUST_FILE = "trust.json"


def home_dir(explicit: str | os.PathLike[str] | None = None, *, create: bool = False) -> Path:
    """The home: ``explicit``, else ``$RECEIPTCORE_HOME``, else the nearest ``.receiptcore/`` in
    the current folder or above. With ``create`` (a publisher), a missing home is made (in the
    current folder when none was named) with its ``.gitignore``; without, HomeNotFound says
    where it looked."""
    named = explicit if explicit is not None else os.environ.get(ENV_HOME) or None
    if named is not None:
        home = Path(named)
        if create:
            return ensure_home(home)
        if not home.is_dir():
            how = "--home" if explicit is not None else f"${ENV_HOME}"
            raise HomeNotFound(f"no receiptcore home at {home} (from {how}): publish something first")
        return home
    looked = []
    here = Path.cwd()
    for folder in (here, *here.parents):
        candidate = folder / HOME_NAME
        if candidate.is_dir():
            return candidate
        looked.append(os.fspath(candidate))
    if create:
        return ensure_home(Path(HOME_NAME))
    raise HomeNotFound(
        f"no receiptcore home: ${ENV_HOME} is unset and none of {', '.join(looked)} exists "
        "(publish makes one in the current folder; or pass --home)"
    )


def ensure_home(home: Path) -> Path:
    """``home`` made if missing, with a ``.gitignore`` of ``*`` (added to an older home too)."""
    from receiptcore.util.atomic import create_file

    home.mkdir(mode=0o700, parents=True, exist_ok=True)  # the owner's: keys, ledger, objects
    if not (home / ".gitignore").exists():
        try:
            create_file(home / ".gitignore", GITIGNORE.encode(), 0o644)
        except FileExistsError:  # another publisher made it first
            pass
    return home


def state_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    if explicit is not None:
        return Path(explicit)
    if os.environ.get(ENV_STATE):
        return Path(os.environ[ENV_STATE])
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base) / "receiptcore"


def cache_dir() -> Path:
    """Where receiptcore keeps what only saves time (``scan --all``'s verdicts):
    ``$XDG_CACHE_HOME/receiptcore``, else ``~/.cache/receiptcore``. Anything in it may be
    deleted at any moment; a relative ``$XDG_CACHE_HOME`` is ignored, as the XDG spec says."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "receiptcore"


def trust_path(home: Path, explicit: str | os.PathLike[str] | None = None) -> Path:
    """The trust file: ``--trust``, else ``$RECEIPTCORE_TRUST``, else ``<home>/trust.json``."""
    if explicit is not None:
        return Path(explicit)
    return Path(os.environ.get(ENV_TRUST) or home / TRUST_FILE)


def is_inside(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is ``folder`` or below it, symlinks resolved: a file whoever can write
    ``folder`` can replace."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)

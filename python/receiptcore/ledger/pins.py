"""What a verifier remembers of a ledger: its key, and the last checkpoint it trusted.

Each verification moves the remembered checkpoint forward only after a consistency proof shows
that the new tree extends it. A ledger that was rolled back (smaller than what was seen) or
forked (same or larger size, but not an extension) is refused with RollbackDetected, even if
every signature on it checks: that is the whole point of remembering.

One JSON file per ledger *location* (its folder's absolute path, or its URL) under the verifier's
state folder, written atomically under an exclusive lock so that concurrent verifiers never move
it backwards. Keying by location, not by the origin the ledger states, means a ledger swapped for
a fresh one with another name and key is caught, not trusted anew.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from receiptcore.errors import CheckpointError, NotInLedger, ProofError, RollbackDetected
from receiptcore.ledger import merkle
from receiptcore.ledger.checkpoint import Checkpoint, VerifierKey, open_checkpoint
from receiptcore.util.atomic import exclusive_lock, replace_file
from receiptcore.util.home import state_dir as default_state_dir
from receiptcore.util.reading import read_document

if TYPE_CHECKING:
    from receiptcore.ledger.base import Ledger


@dataclass(frozen=True)
class Advance:
    """The outcome of :meth:`TrustedCheckpoints.advance`, for the verdict."""

    previous_size: int | None
    size: int

    def describe(self) -> str:
        if self.previous_size is None:
            return f"first use of this ledger: now trusting its checkpoint at size {self.size}"
        if self.previous_size == self.size:
            return f"checkpoint at size {self.size} is the one trusted before"
        return (
            f"checkpoint at size {self.size} extends the trusted one at size {self.previous_size}"
        )


class TrustedCheckpoints:
    """The verifier's memory of the ledger at ``location``."""

    def __init__(self, state_dir: Path, location: str) -> None:
        digest = hashlib.sha256(location.encode()).hexdigest()[:24]
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / "ledgers" / f"{digest}.json"
        self.location = location

    def forget_command(self) -> str:
        """The command that forgets this pin (``--state`` only when it is not the default)."""
        state = "" if self.state_dir == default_state_dir() else f" --state {shlex.quote(str(self.state_dir))}"
        return f"receiptcore ledger forget --ledger {shlex.quote(self.location)}{state}"

    def forget(self) -> bool:
        """Drop what this verifier remembers of the ledger (its key and checkpoint), so that the
        next verification trusts the ledger found there as at first use. Returns whether there
        was anything to forget."""
        if not self.path.parent.is_dir():
            return False
        with exclusive_lock(self.path.with_suffix(".lock")):
            try:
                self.path.unlink()
            except FileNotFoundError:
                return False
            return True

    def pinned_key(self) -> VerifierKey | None:
        state = self._read(self.path)
        return None if state is None else VerifierKey.from_text(state["vkey"])

    def pinned_size(self) -> int | None:
        """The size of the checkpoint trusted last (unverified here: a hint for asking a server
        for a consistency proof from it; :meth:`advance` checks everything)."""
        state = self._read(self.path)
        if state is None:
            return None
        return Checkpoint.unverified(state["checkpoint"]).size

    def refuse_emptied(self, found: str) -> None:
        """A ledger that holds nothing now (``found`` says what is there: no file, an empty
        file, a fresh ledger) is RollbackDetected if this verifier trusted a signed checkpoint
        of it: to a verifier that saw N entries, none is fewer, and a deleted ledger is the
        cheapest rollback there is. Without a pin, nothing is said (the caller goes on)."""
        state = self._read(self.path)
        if state is None:
            return
        pinned = open_checkpoint(state["checkpoint"], VerifierKey.from_text(state["vkey"]))
        if pinned.size > 0:
            raise RollbackDetected(
                f"ledger rolled back: this verifier trusted a signed checkpoint of {pinned.size} "
                f"entries of the ledger at {self.location}, but {found}; if it was deleted on "
                f"purpose, forget the pin with: {self.forget_command()}"
            )

    def check(
        self,
        verifier: VerifierKey,
        checkpoint: Checkpoint,
        consistency_proof: Callable[[int, int], list[bytes]],
    ) -> Advance:
        """Whether ``checkpoint`` extends the one trusted so far (RollbackDetected if not),
        remembering nothing: a verifier checks first and :meth:`advance` once every other check
        passed too."""
        return self._extends(self._read(self.path), verifier, checkpoint, consistency_proof)

    def advance(
        self,
        verifier: VerifierKey,
        checkpoint: Checkpoint,
        note: str,
        consistency_proof: Callable[[int, int], list[bytes]],
    ) -> Advance:
        """Trust ``checkpoint`` if it extends the one trusted so far; else RollbackDetected."""
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(path.with_suffix(".lock")):
            advance = self._extends(self._read(path), verifier, checkpoint, consistency_proof)
            if advance.previous_size is None or advance.previous_size < checkpoint.size:
                state = {"location": self.location, "vkey": verifier.to_text(), "checkpoint": note}
                replace_file(path, json.dumps(state).encode())
            return advance

    def _extends(
        self,
        state: dict | None,
        verifier: VerifierKey,
        checkpoint: Checkpoint,
        consistency_proof: Callable[[int, int], list[bytes]],
    ) -> Advance:
        if state is None:
            return Advance(None, checkpoint.size)
        if state["vkey"] != verifier.to_text():
            raise CheckpointError(
                f"the ledger at {self.location} was first seen with key {state['vkey']}, "
                f"not {verifier.to_text()}; if it was replaced on purpose, remove {self.path}"
            )
        previous = open_checkpoint(state["checkpoint"], verifier)
        _check_extends(previous, checkpoint, consistency_proof)
        return Advance(previous.size, checkpoint.size)

    @staticmethod
    def _read(path: Path) -> dict | None:
        """The state file, checked: a JSON object whose ``vkey`` and ``checkpoint`` are strings
        (anything else, or a file that is not there as a regular file, is a CheckpointError:
        a verifier that cannot read what it remembers must not start over silently)."""
        try:
            state = json.loads(read_document(path, "verifier state"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise CheckpointError(f"{path}: unreadable verifier state ({_reason(error)})") from None
        if not isinstance(state, dict) or not all(
            isinstance(state.get(k), str) for k in ("vkey", "checkpoint")
        ):
            raise CheckpointError(
                f"{path}: unreadable verifier state (want a JSON object with the strings "
                "'vkey' and 'checkpoint'); if it was damaged, remove it and verify again"
            )
        return state


def open_pinned(
    url: str | os.PathLike[str] | None, *, home: str | os.PathLike[str] | None, state: Path
) -> tuple[Ledger, TrustedCheckpoints]:
    """The ledger at ``url``, opened to read, and what this verifier remembers of it.

    A ledger this verifier trusted at a checkpoint of N > 0 entries that now holds none (its
    file deleted or emptied, or a fresh ledger in its place) is RollbackDetected here, before
    any key is looked at; without a pin it stays NotInLedger. Nothing is created or written."""
    from receiptcore.ledger import open_ledger

    try:
        ledger = open_ledger(url, home=home)
    except NotInLedger as error:
        if error.location is not None:
            TrustedCheckpoints(state, error.location).refuse_emptied(error.found)
        raise
    pins = TrustedCheckpoints(state, ledger.location)
    try:
        if pins.pinned_size() is not None and ledger.size() == 0:
            pins.refuse_emptied("it now holds no entry (a fresh, empty ledger)")
    except BaseException:
        ledger.close()
        raise
    return ledger, pins


def _check_extends(
    old: Checkpoint, new: Checkpoint, consistency_proof: Callable[[int, int], list[bytes]]
) -> None:
    if new.size < old.size:
        raise RollbackDetected(
            f"ledger rolled back: it now has {new.size} entries, but this verifier already "
            f"trusted a signed checkpoint of {old.size}"
        )
    try:
        proof = consistency_proof(old.size, new.size)
        merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
    except (ProofError, ValueError) as error:
        raise RollbackDetected(
            f"ledger forked: its checkpoint at size {new.size} does not extend the one this "
            f"verifier trusted at size {old.size} ({error})"
        ) from None



def _reason(error: BaseException) -> str:
    return error.strerror if isinstance(error, OSError) and error.strerror else str(error)

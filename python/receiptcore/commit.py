"""A commitment as one value: the sha256 digest that names an artifact or a manifest.

Everywhere a person or a program reads a commit, it is written ``sha256:<64 lowercase hex>``
(``str(commit)``); the contracts carry the bare hex (``commit.hex``), as in-toto digests do. Input
is accepted in either spelling (:meth:`Commit.parse`), so no caller adds or strips a prefix by
hand. Model: ``Digest(algorithm, digest_value)`` of model_signing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Commit:
    """A sha256 commitment; ``str()`` is ``sha256:<hex>``, ``.hex`` the bare digest."""

    hex: str
    algorithm: ClassVar[str] = "sha256"

    def __post_init__(self) -> None:
        if not isinstance(self.hex, str) or not _HEX.fullmatch(self.hex):
            raise ValueError(f"not a sha256 digest (64 lowercase hex digits): {self.hex!r}")

    @classmethod
    def parse(cls, text: str | Commit) -> Commit:
        """``sha256:<hex>`` or ``<hex>``; ValueError naming the text for anything else."""
        if isinstance(text, Commit):
            return text
        if isinstance(text, str) and _HEX.fullmatch(text.removeprefix("sha256:")):
            return cls(text.removeprefix("sha256:"))
        raise ValueError(f"not a sha256 commit (sha256:<64 lowercase hex>): {text!r}")

    def __str__(self) -> str:
        return f"sha256:{self.hex}"


def contract_hex(value: Commit | str) -> str:
    """The bare hex a contract field carries, from a commit in either spelling. A value that is
    no commit is passed through unchanged, for the contract to refuse with the field's name."""
    try:
        return Commit.parse(value).hex
    except ValueError:
        return value  # type: ignore[return-value]

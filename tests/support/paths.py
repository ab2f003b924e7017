"""Where the repository and the outside reference data are, for every test."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO.parent / "shared" / "vectors"
"""``../shared/vectors`` beside the checkout: outside data we never copy into the project."""

"""Shared fixtures: where outside reference data lives, and small helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.paths import VECTORS


@pytest.fixture
def vectors() -> Path:
    """``../shared/vectors`` beside the checkout: outside data we never copy into the project."""
    if not VECTORS.is_dir():
        pytest.skip(f"outside test vectors not found at {VECTORS}")
    return VECTORS

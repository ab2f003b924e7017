"""Licenses in dataset manifests are SPDX expressions, checked by license-expression's SPDX list."""

from __future__ import annotations

import pytest

from receiptcore.contracts.licenses import check_license


@pytest.mark.parametrize("license", [
    "CC-BY-4.0", "mit OR Apache-2.0", "GPL-2.0-only WITH Classpath-exception-2.0",
    "LicenseRef-internal-1", "MIT AND DocumentRef-x:LicenseRef-y", "proprietary", "NOASSERTION",
    "NONE",
])
def test_spdx_expressions_and_the_whole_values_are_accepted(license):
    assert check_license(license) == license


@pytest.mark.parametrize("license", [
    "not a license", "MIT AND", "", "MIT OR NOASSERTION", "proprietary OR MIT", "Unknown-1.0",
])
def test_anything_else_is_refused_saying_why(license):
    with pytest.raises(ValueError, match="not an SPDX license expression"):
        check_license(license)

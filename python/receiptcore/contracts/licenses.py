"""What a dataset manifest may say its license is: an SPDX license expression.

Checked with ``license-expression`` (aboutcode.org's SPDX parser, with the SPDX license list it
ships): ``CC-BY-4.0``, ``MIT OR Apache-2.0``, ``GPL-2.0-only WITH Classpath-exception-2.0``. Ids
are matched without regard to case, as SPDX says. Two kinds of name outside the list are
allowed, as docs/contracts.md documents: a ``LicenseRef-<idstring>`` (or
``DocumentRef-<id>:LicenseRef-<id>``), SPDX's own form for a license it does not list, anywhere
in the expression; the single word ``proprietary`` alone, for data under no public license; and
SPDX's own ``NOASSERTION`` and ``NONE`` alone (SPDX 2.3, 7.13: the license was not looked at, or
there is none), which is what a pipeline records when it is not told.
The parser and its license list load on first use (0.3 s), only where a license is checked.
"""

from __future__ import annotations

import re
from functools import cache

PROPRIETARY = "proprietary"
WHOLE_VALUES = (PROPRIETARY, "NOASSERTION", "NONE")
"""Values allowed only alone, never inside an expression."""
_REF = re.compile(r"(DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+")


@cache
def _licensing():
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


def check_license(expression: str) -> str:
    """``expression`` if it is a valid SPDX license expression (or one of ``WHOLE_VALUES``);
    else a ValueError saying what is wrong."""
    if expression in WHOLE_VALUES:
        return expression
    from license_expression import ExpressionError, ExpressionParseError

    licensing = _licensing()
    try:
        parsed = licensing.parse(expression, validate=False, strict=True)
    except (ExpressionError, ExpressionParseError) as error:
        raise ValueError(f"not an SPDX license expression ({error})") from None
    if parsed is None:
        raise ValueError("not an SPDX license expression (it is empty)")
    unknown = [key for key in licensing.unknown_license_keys(parsed) if not _REF.fullmatch(key)]
    if unknown:
        raise ValueError(
            f"not an SPDX license expression: unknown license {', '.join(map(repr, unknown))} "
            f"(an SPDX id such as CC-BY-4.0, LicenseRef-<name> for one SPDX does not list, or "
            f"{PROPRIETARY!r})"
        )
    return expression

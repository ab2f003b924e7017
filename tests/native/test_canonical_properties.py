"""Properties over arbitrary JSON values, with the PyPI ``rfc8785`` package as a second,
independent implementation; and a fuzzer that throws arbitrary bytes at the parser."""

import hashlib
import json

import pytest
import rfc8785
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from receiptcore import CanonicalizationError, canonical_sha256, canonicalize, canonicalize_json

# Characters where implementations go wrong: controls, the JS line separators, the edges of
# the surrogate range, the BMP private-use area that UTF-16 sorts after astral characters.
TRICKY = [chr(c) for c in range(0x20)] + [
    '"',
    "\\",
    "/",
    "\x7f",
    "\x80",
    "\u00e9",
    "\u2028",
    "\u2029",
    "\ud7ff",
    "\ue000",
    "\ufb33",
    "\ufeff",
    "\uffff",
    "\U00010000",
    "\U0001f600",
    "\U0001f602",
    "\U0010ffff",
    "\u030a",
]
characters = st.one_of(
    st.sampled_from(TRICKY),
    st.characters(exclude_categories=("Cs",)),  # every code point but lone surrogates
)
text = st.text(characters, max_size=12)
# rfc8785 refuses integers past +-(2**53 - 1); we accept every exact one (tested below).
safe_ints = st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | safe_ints | finite_floats | text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(text, inner, max_size=5),
    max_leaves=30,
)

fast = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(json_values)
def test_agrees_with_the_rfc8785_package(value):
    want = rfc8785.dumps(value)
    assert canonicalize(value) == want
    assert canonical_sha256(value) == hashlib.sha256(want).hexdigest()


@fast
@given(json_values, st.booleans())
def test_json_text_of_a_value_canonicalizes_like_the_value(value, ascii_only):
    # ensure_ascii writes astral characters as surrogate-pair escapes: the parser must join them.
    text = json.dumps(value, ensure_ascii=ascii_only, indent=1)
    assert canonicalize_json(text) == canonicalize(value)
    assert canonicalize_json(text.encode("utf-8")) == canonicalize(value)


@fast
@given(json_values)
def test_canonical_form_is_a_fixpoint(value):
    once = canonicalize(value)
    assert canonicalize_json(once) == once
    # JSON numbers are doubles: 5.03e16 prints as 50301910730559610, which as a Python int
    # would be refused (not exactly a double), so read numbers back as floats.
    assert canonicalize(json.loads(once, parse_int=float)) == once


@fast
@given(
    st.lists(
        st.text(
            st.sampled_from(
                ["a", "\ue000", "\uffff", "\ufb33", "\U00010000", "\U0001f602", "\ud7ff"]
            ),
            max_size=4,
        ),
        max_size=8,
    )
)
def test_keys_sort_by_utf16_even_where_code_points_disagree(keys):
    value = {k: i for i, k in enumerate(keys)}
    order = list(json.loads(canonicalize(value)))
    assert order == sorted(value, key=lambda k: k.encode("utf-16-be"))
    assert canonicalize(value) == rfc8785.dumps(value)


@fast
@given(st.integers(min_value=-(2**80), max_value=2**80))
@example(2**53 + 1)
@example(2**60)
@example(2**68)
def test_integers_are_accepted_exactly_when_a_double_equals_them(n):
    if float(n) == n:
        assert canonicalize(n) == canonicalize(float(n))
    else:
        with pytest.raises(CanonicalizationError, match="not exactly representable"):
            canonicalize(n)


# --- fuzzing the parser ----------------------------------------------------------------------


def survives(data):
    """Either canonical bytes that are their own canonical form, or CanonicalizationError."""
    try:
        out = canonicalize_json(data)
    except CanonicalizationError as err:
        assert isinstance(err.pointer, str)
        return
    assert canonicalize_json(out) == out
    json.loads(out)


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_arbitrary_bytes_never_crash_the_parser(data):
    survives(data)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values, st.lists(st.tuples(st.integers(0, 10**6), st.binary(max_size=3)), max_size=4))
def test_fuzz_mutated_json_never_crashes_the_parser(value, edits):
    # Near-valid input reaches deeper into the parser than random bytes do.
    data = bytearray(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    for position, replacement in edits:
        at = position % (len(data) + 1)
        data[at : at + len(replacement) % 2 + 1] = replacement
    survives(bytes(data))

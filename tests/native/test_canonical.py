"""RFC 8785 canonical JSON: the rules, the RFC's own examples, the reference vectors, and every
refusal with its JSON pointer."""

import hashlib
import json
import math
import struct
import subprocess
import sys
from collections import OrderedDict
from enum import IntEnum

import pytest

import receiptcore
from receiptcore import (
    CanonicalizationError,
    ReceiptcoreError,
    canonical_sha256,
    canonicalize,
    canonicalize_json,
)
from support.paths import REPO

# The reference implementation's testdata (cyberphone/json-canonicalization), beside the checkout.
REFERENCE_VECTORS = ["arrays", "french", "structures", "unicode", "values", "weird"]


@pytest.mark.parametrize("name", REFERENCE_VECTORS)
def test_reference_vectors_match_byte_for_byte(vectors, name):
    root = vectors / "rfc8785"
    source = (root / "input" / f"{name}.json").read_bytes()
    want = (root / "output" / f"{name}.json").read_bytes()
    outhex = (root / "outhex" / f"{name}.txt").read_text()
    assert bytes.fromhex(outhex) == want  # the two published forms agree
    assert canonicalize_json(source) == want
    assert canonicalize_json(source.decode("utf-8")) == want
    value = json.loads(source)
    assert canonicalize(value) == want
    assert canonical_sha256(value) == hashlib.sha256(want).hexdigest()


# --- RFC 8785's own examples -----------------------------------------------------------------


def test_rfc8785_section_3_2_2_example():
    text = r"""{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"""
    want = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    ).encode()
    assert canonicalize_json(text) == want
    assert canonicalize(json.loads(text)) == want


def test_rfc8785_section_3_2_3_sorting_example():
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    order = list(json.loads(canonicalize(value)))
    assert order == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


# RFC 8785 Appendix B: IEEE-754 bits and their canonical form.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "want"), APPENDIX_B)
def test_rfc8785_appendix_b_numbers(bits, want):
    (x,) = struct.unpack(">d", bytes.fromhex(bits))
    assert canonicalize(x) == want.encode()
    assert canonicalize_json(json.dumps(x)) == want.encode()


def test_nan_and_infinities_are_rejected():
    for x in (math.nan, math.inf, -math.inf):
        with pytest.raises(CanonicalizationError, match="must be finite"):
            canonicalize(x)


# --- the rules -------------------------------------------------------------------------------


def test_keys_sort_by_utf16_code_units_not_code_points():
    # U+1F602 is D83D DE02 in UTF-16: before U+FB33, although its code point is larger.
    assert canonicalize({"\ufb33": 1, "\U0001f602": 2}) == '{"\U0001f602":2,"\ufb33":1}'.encode()
    assert canonicalize({"\ue000": 1, "\U00010000": 2, "\ud7ff": 3}) == (
        '{"\ud7ff":3,"\U00010000":2,"\ue000":1}'.encode()
    )


def test_no_whitespace_and_nested_objects_sorted():
    value = {"b": {"d": [1, {"z": None, "y": True}], "c": ()}, "a": "x"}
    assert canonicalize(value) == b'{"a":"x","b":{"c":[],"d":[1,{"y":true,"z":null}]}}'


def test_strings_escape_only_what_jcs_says():
    s = '\b\f\n\r\t"\\ \x00\x1f\x7f/\u2028\u2029<>&é\U0001f602'
    want = '"\\b\\f\\n\\r\\t\\"\\\\ \\u0000\\u001f\x7f/\u2028\u2029<>&é\U0001f602"'
    assert canonicalize(s) == want.encode()


def test_numbers_follow_ecmascript():
    cases = {
        -0.0: "0",
        1.0: "1",
        0.1: "0.1",
        1e21: "1e+21",
        1e20: "100000000000000000000",
        1e-6: "0.000001",
        1e-7: "1e-7",
        5e-324: "5e-324",
        2.0**53: "9007199254740992",
        123456789.125: "123456789.125",
    }
    for x, want in cases.items():
        assert canonicalize(x) == want.encode(), x


def test_integers_exactly_representable_as_doubles_are_accepted():
    assert canonicalize(2**53) == b"9007199254740992"
    assert canonicalize(-(2**53)) == b"-9007199254740992"
    assert canonicalize(2**60) == b"1152921504606847000"
    assert canonicalize(2**68) == b"295147905179352830000"  # RFC 8785 Appendix B
    assert canonicalize(10**21) == b"1e+21"
    assert canonicalize(2**1023) == canonicalize(float(2**1023))
    assert canonicalize([0, -1, 7]) == b"[0,-1,7]"


@pytest.mark.parametrize("n", [2**53 + 1, -(2**53) - 1, 2**63 - 1, 2**64 + 1, 10**30 + 1])
def test_integers_not_exactly_doubles_are_rejected(n):
    with pytest.raises(CanonicalizationError, match="not exactly representable") as info:
        canonicalize({"size": [n]})
    assert info.value.pointer == "/size/0"
    assert str(n)[:15] in str(info.value)


def test_integers_beyond_the_double_range_are_rejected():
    with pytest.raises(CanonicalizationError, match="too large for an IEEE-754 double"):
        canonicalize(2**1024)
    with pytest.raises(CanonicalizationError, match="too large"):
        canonicalize(-(10**5000))


def test_bool_is_not_an_int_and_subclasses_read_as_their_base():
    class Color(IntEnum):
        RED = 1

    class Name(str):
        def __str__(self):
            return "never used"

    value = OrderedDict([("z", Color.RED), (Name("a"), [True, False, Name("x")])])
    assert canonicalize(value) == b'{"a":[true,false,"x"],"z":1}'


def test_subclass_methods_are_never_called():
    def boom(*args):
        raise AssertionError("user code ran during canonicalization")

    class Int(int):
        __index__ = __float__ = __eq__ = __hash__ = __repr__ = __str__ = boom

    class Float(float):
        __float__ = __repr__ = boom

    class Str(str):
        __str__ = __eq__ = __hash__ = __iter__ = boom

    class Dict(dict):
        __iter__ = items = keys = __getitem__ = boom

    class List(list):
        __iter__ = __getitem__ = __len__ = boom

    value = Dict(a=List([Int(2**60), Int(7), Float(0.5), Str("s")]))
    assert canonicalize(value) == b'{"a":[1152921504606847000,7,0.5,"s"]}'
    with pytest.raises(CanonicalizationError, match="9007199254740993"):
        canonicalize(Int(2**53 + 1))


def test_garbage_collector_state_is_restored():
    import gc

    assert gc.isenabled()
    canonicalize({"a": [1, 2]})
    assert gc.isenabled()
    with pytest.raises(CanonicalizationError):
        canonicalize({"a": [math.nan]})
    assert gc.isenabled()
    gc.disable()
    try:
        canonical_sha256([1])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_tuples_are_arrays():
    assert canonicalize((1, (2.5, "x"))) == b'[1,[2.5,"x"]]'


def test_canonical_sha256_is_sha256_of_canonicalize():
    value = {"files": [{"path": f"a/{i}.bin", "size": i, "sha256": "ab" * 32} for i in range(3000)]}
    data = canonicalize(value)
    assert len(data) > 64 << 10  # crosses the hashing chunk size
    assert canonical_sha256(value) == hashlib.sha256(data).hexdigest()


def test_canonical_sha256_of_empty_containers():
    assert canonical_sha256({}) == hashlib.sha256(b"{}").hexdigest()
    assert canonical_sha256([]) == hashlib.sha256(b"[]").hexdigest()


def test_api_is_exported_from_the_package():
    for name in ("canonicalize", "canonicalize_json", "canonical_sha256", "CanonicalizationError"):
        assert name in receiptcore.__all__
    assert issubclass(CanonicalizationError, ReceiptcoreError)
    from receiptcore.errors import CanonicalizationError as FromErrors

    assert FromErrors is CanonicalizationError


# --- refusals, each with a JSON pointer ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "pointer", "message"),
    [
        (math.nan, "", "NaN is not allowed"),
        ({"a": [1, math.inf]}, "/a/1", "Infinity is not allowed"),
        ({"a": {"b": -math.inf}}, "/a/b", "-Infinity is not allowed"),
        ({"x/y": {"m~n": math.nan}}, "/x~1y/m~0n", "NaN"),
        ({"a": "ok\ud800"}, "/a", "lone surrogate U+D800 at index 2"),
        (["\udfff"], "/0", "lone surrogate U+DFFF"),
        ({"k": {"bad\udc00key": 1}}, "/k", "object key contains a lone surrogate"),
        ({"a": {1: "x"}}, "/a", "object keys must be str, not int"),
        ({"a": {None: "x"}}, "/a", "not NoneType"),
        ([b"bytes"], "/0", "unsupported type bytes"),
        ({"s": {1, 2}}, "/s", "unsupported type set"),
        ([object()], "/0", "unsupported type object"),
    ],
)
def test_values_without_canonical_form_are_rejected_with_pointer(value, pointer, message):
    for function in (canonicalize, canonical_sha256):
        with pytest.raises(CanonicalizationError) as info:
            function(value)
        assert info.value.pointer == pointer
        assert message in str(info.value)
        assert f'JSON pointer "{pointer}"' in str(info.value)


def test_nesting_limit_is_512():
    ok = []
    for _ in range(511):
        ok = [ok]
    assert canonicalize(ok) == b"[" * 512 + b"]" * 512
    too_deep = [ok]
    with pytest.raises(CanonicalizationError, match="nesting deeper than 512"):
        canonicalize(too_deep)
    with pytest.raises(CanonicalizationError, match="nesting deeper than 512"):
        canonicalize_json(b"[" * 513 + b"]" * 513)
    assert canonicalize_json(b"[" * 512 + b"]" * 512) == b"[" * 512 + b"]" * 512


def test_the_depth_limit_fits_a_small_thread_stack():
    # 512 levels of objects need about 150 KiB of native stack; a thread with 256 KiB (Linux
    # gives 8 MiB by default) must get to the limit and past it without a crash. A subprocess,
    # so that a stack overflow fails this test instead of killing the run.
    child = """
import threading, receiptcore
from receiptcore import CanonicalizationError
threading.stack_size(256 * 1024)
def nested(depth):  # depth containers, objects and arrays in turn
    value = 1
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value
def work():
    receiptcore.canonical_sha256(nested(512))
    receiptcore.canonicalize_json('{"a":' * 511 + "1" + "}" * 511)
    for bad in (lambda: receiptcore.canonicalize(nested(100_000)),
                lambda: receiptcore.canonicalize_json('{"a":' * 100_000)):
        try:
            bad()
        except CanonicalizationError:
            pass
    print("ok")
thread = threading.Thread(target=work)
thread.start()
thread.join()
"""
    result = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_a_container_that_contains_itself_is_rejected():
    loop = {"a": []}
    loop["a"].append(loop)
    with pytest.raises(CanonicalizationError, match="nesting deeper") as info:
        canonical_sha256(loop)
    assert info.value.pointer.startswith("/a/0/a/0/")


def test_hostile_nesting_in_text_does_not_overflow_the_stack():
    for text in (b"[" * 1_000_000, b'{"a":' * 200_000):
        with pytest.raises(CanonicalizationError, match="nesting deeper"):
            canonicalize_json(text)


# --- JSON text input -------------------------------------------------------------------------


def test_json_text_may_be_str_bytes_or_bytearray():
    want = b'{"a":1,"b":[true]}'
    for text in (
        '{ "b": [true], "a": 1.0 }',
        b'{"b":[true],"a":1}',
        bytearray(b'{"b":[true],"a":1}'),
    ):
        assert canonicalize_json(text) == want
    with pytest.raises(TypeError, match="str or bytes"):
        canonicalize_json(12)


def test_large_json_text_is_canonicalized_the_same_way():
    value = {f"k{i}": [i, i / 7, "v" * (i % 13)] for i in range(20_000)}
    text = json.dumps(value, indent=2)
    assert len(text) > 64 << 10
    assert canonicalize_json(text) == canonicalize(value)


@pytest.mark.parametrize(
    ("text", "pointer", "message"),
    [
        ('{"a": 1, "a": 2}', "/a", 'duplicate object key "a"'),
        ('{"x": {"b": 1, "c": [], "b": 2}}', "/x/b", "duplicate object key"),
        (b'["ok", "\xff"]', "/1", "byte 8: invalid UTF-8 in string"),
        (b'{"a": "\xed\xa0\x80"}', "/a", "lone surrogate U+D800"),
        ('["\\ud800"]', "/0", "lone surrogate \\ud800"),
        ('{"a": ["\\udc00x"]}', "/a/0", "lone surrogate \\udc00"),
        ('{"a": "x\ud800"}', "/a", "lone surrogate U+D800"),  # a str holding a lone surrogate
        ("[1, 2,]", "/2", "expected a JSON value"),
        ('{"a": 01}', "/a", "leading zeros"),
        ('{"a": NaN}', "/a", "expected a JSON value"),
        ("[1e400]", "/0", "too large for an IEEE-754 double"),
        ('{"a": "\n"}', "/a", "control character U+000A must be escaped"),
        ("\ufeff[]", "", "byte order mark"),
        ("[] []", "", "unexpected character '[' after the JSON value"),
        ("", "", "unexpected end of input"),
        ("{'a': 1}", "", "expected a string key"),
        ("[1 /* c */]", "", "expected ',' or ']'"),
    ],
)
def test_invalid_json_text_is_rejected_with_pointer(text, pointer, message):
    with pytest.raises(CanonicalizationError) as info:
        canonicalize_json(text)
    assert info.value.pointer == pointer
    assert message in str(info.value)


def test_the_documented_example_runs(capsys):
    doc = REPO / "docs" / "canonical-json.md"
    code = doc.read_text(encoding="utf-8").split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, str(doc), "exec"), {})  # noqa: S102 -- our own documentation
    assert '(at JSON pointer "/files/0/size")' in capsys.readouterr().out

"""The typed face of the native module: `_core.pyi` parses, names exactly what `_core` has, and
every path or buffer argument it promises is accepted in every form the stub allows.

`mypy.stubtest` (run by `make lint`) checks names and signatures; this checks that the types
promised are the types taken: a path as str, bytes, os.PathLike[str] and os.PathLike[bytes], a
buffer as bytes, bytearray, memoryview, array.array, numpy array or mmap.
"""

from __future__ import annotations

import array
import ast
import hashlib
import io
import mmap
import os
import pathlib
import subprocess
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import receiptcore
from receiptcore import _core

STUB = pathlib.Path(receiptcore.__file__).with_name("_core.pyi")


def _npy() -> bytes:
    out = io.BytesIO()
    np.save(out, np.arange(4, dtype=np.float32))
    return out.getvalue()


NPY = _npy()  # a real .npy file, recognised by sniff
# RFC 8032 section 7.1, TEST 2.
RFC8032_KEY = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
RFC8032_MESSAGE = b"\x72"
RFC8032_SIGNATURE = bytes.fromhex(
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
)


def stub_tree() -> ast.Module:
    return ast.parse(STUB.read_text(), filename=str(STUB))


def stub_names() -> set[str]:
    """The stub's functions, classes and public constants (``HEAD_BYTES``)."""
    names = set()
    for node in stub_tree().body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {name for name in names if not name.startswith("_")}


def test_every_native_name_has_a_stub_and_every_stub_exists():
    native = {name for name in dir(_core) if not name.startswith("_")}
    assert native == {name for name in stub_names() if not name.startswith("_")}


def test_py_typed_ships_beside_the_package():
    assert STUB.with_name("py.typed").exists()


class BytesPath:
    """An os.PathLike[bytes] (pathlib has none)."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def __fspath__(self) -> bytes:
        return self.raw


PATH_FORMS: dict[str, Callable[[pathlib.Path], Any]] = {
    "str": os.fspath,
    "bytes": os.fsencode,
    "PathLike[str]": pathlib.Path,
    "PathLike[bytes]": lambda p: BytesPath(os.fsencode(p)),
}


def _mmap(data: bytes) -> mmap.mmap:
    m = mmap.mmap(-1, len(data))
    m.write(data)
    return m


BUFFER_FORMS: dict[str, Callable[[bytes], Any]] = {
    "bytes": bytes,
    "bytearray": bytearray,
    "memoryview": memoryview,
    "read-only memoryview": lambda b: memoryview(bytearray(b)).toreadonly(),
    "array.array": lambda b: array.array("B", b),
    "numpy uint8": lambda b: np.frombuffer(b, dtype=np.uint8).copy(),
    "mmap": _mmap,
}


@pytest.fixture
def tree(tmp_path):
    """A git work tree holding one staged numpy file, a.npy."""
    (tmp_path / "a.npy").write_bytes(NPY)
    subprocess.run(["git", "-C", str(tmp_path), "init", "-q"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "a.npy"], check=True)
    return tmp_path


SHA = hashlib.sha256(NPY).hexdigest()
LEAF = hashlib.sha256(b"\x00" + NPY).digest()  # RFC 6962 leaf hash


def _blob(tree: pathlib.Path) -> str:
    """The object id of a.npy in the index."""
    return subprocess.run(["git", "-C", str(tree), "rev-parse", ":a.npy"], check=True,
                          capture_output=True, text=True).stdout.strip()

# (function, argument) -> a check that calls it with the argument in the given form.
PATH_CALLS: dict[tuple[str, str], Callable[[Callable[[pathlib.Path], Any], pathlib.Path], bool]] = {
    ("hash_file", "path"): lambda form, t: _core.hash_file(form(t / "a.npy")) == SHA,
    ("hash_files", "paths"): lambda form, t: _core.hash_files([form(t / "a.npy")]) == [SHA],
    ("walk", "root"): lambda form, t: [e.path for e in _core.walk(form(t))] == ["a.npy"],
    ("inspect_files", "root"): lambda form, t: _core.inspect_files(form(t), ["a.npy"])[0].size
    == len(NPY),
    ("inspect_files", "paths"): lambda form, t: _core.inspect_files(t, [form(pathlib.Path("a.npy"))])[0]
    .sniff.format == "npy",
    ("start_listing", "root"): lambda form, t: _core.start_listing(form(t), "staged").finish()[0]
    .path == "a.npy",
    ("finish", "cache"): lambda form, t: _core.start_listing(t, "git").finish(form(t / "c"))[0]
    .sniff.format == "npy",
    ("read_blobs", "root"): lambda form, t: _core.read_blobs(form(t), [_blob(t)], 6) == [NPY[:6]],
    ("files_containing", "paths"): lambda form, t: _core.files_containing(
        [form(t / "a.npy")], [b"NUMPY"]) == [True],
    ("__new__", "path"): lambda form, t: _core.Entry(form(pathlib.Path("a.npy")), 1).path == "a.npy",
    ("copy_files", "pairs"): lambda form, t: _core.copy_files([(form(t / "a.npy"), form(t / "b.npy"))])
    == [(SHA, len(NPY))],
    ("place_files", "pairs"): lambda form, t: _core.place_files([(form(t / "a.npy"), form(t / "c/a.npy"))])
    == [True] and (t / "c" / "a.npy").read_bytes() == NPY,
}
# bytes given to sniff are content, not a path (the stub says so): the other forms only.
SNIFF_PATH_FORMS = ("str", "PathLike[str]", "PathLike[bytes]")
PATH_CALLS[("sniff", "path_or_bytes")] = lambda form, t: _core.sniff(form(t / "a.npy")).format == "npy"

BUFFER_CALLS: dict[tuple[str, str], Callable[[Callable[[bytes], Any]], bool]] = {
    ("sniff", "path_or_bytes"): lambda form: _core.sniff(form(NPY)).format == "npy",
    ("__new__", "data"): lambda form: _core.Hasher("sha256", form(NPY)).hexdigest() == SHA,
    ("update", "data"): lambda form: _hasher_update(form(NPY)) == SHA,
    ("canonicalize_json", "text"): lambda form: _core.canonicalize_json(form(b'{"b": 1, "a": [true]}'))
    == b'{"a":[true],"b":1}',
    ("leaf_hashes", "data"): lambda form: _core.leaf_hashes([form(NPY)]) == [LEAF],
    ("ed25519_verify_many", "checks"): lambda form: _core.ed25519_verify_many(
        [(form(RFC8032_KEY), form(RFC8032_MESSAGE), form(RFC8032_SIGNATURE))]
    ) == [True],
    ("__new__", "hashes"): lambda form: _core.Frontier(1, [form(LEAF)]).root() == LEAF,
    ("append", "leaf"): lambda form: _core.Frontier().append(form(LEAF)) == [],
    ("extend", "leaves"): lambda form: _core.Frontier().extend([form(LEAF)] * 2)
    == [(1, 0, hashlib.sha256(b"\x01" + LEAF + LEAF).digest())],
}


def _hasher_update(buf: Any) -> str:
    hasher = _core.Hasher()
    hasher.update(buf)
    return hasher.hexdigest()


def promised(alias: str) -> set[tuple[str, str]]:
    """(function, argument) of every parameter whose annotation in the stub names ``alias``."""
    found = set()
    for node in ast.walk(stub_tree()):
        if isinstance(node, ast.FunctionDef):
            for arg in node.args.posonlyargs + node.args.args + node.args.kwonlyargs:
                if arg.annotation is not None and alias in ast.unparse(arg.annotation):
                    found.add((node.name, arg.arg))
    return found


def test_every_path_and_buffer_argument_in_the_stub_is_exercised_here():
    assert promised("_Path") | promised("PathLike") == set(PATH_CALLS)
    assert promised("Buffer") == set(BUFFER_CALLS)


@pytest.mark.parametrize("call", sorted(PATH_CALLS), ids="{0[0]}:{0[1]}".format)
@pytest.mark.parametrize("form", sorted(PATH_FORMS))
def test_every_path_argument_takes_every_path_form(tree, call, form):
    if call[0] == "sniff" and form not in SNIFF_PATH_FORMS:
        pytest.skip("bytes given to sniff are content")
    assert PATH_CALLS[call](PATH_FORMS[form], tree)


def test_names_that_are_not_utf8_reach_the_file_system_as_bytes(tmp_path):
    raw = os.fsencode(tmp_path) + b"/caf\xe9.npy"
    with open(raw, "wb") as f:
        f.write(NPY)
    for path in (raw, BytesPath(raw), os.fsdecode(raw)):
        assert _core.hash_file(path) == SHA
        assert _core.sniff(BytesPath(raw)).format == "npy"


@pytest.mark.parametrize("call", sorted(BUFFER_CALLS), ids="{0[0]}:{0[1]}".format)
@pytest.mark.parametrize("form", sorted(BUFFER_FORMS))
def test_every_buffer_argument_takes_every_buffer_form(call, form):
    assert BUFFER_CALLS[call](BUFFER_FORMS[form])


def test_a_buffer_is_released_after_use_so_a_bytearray_can_grow_again():
    data = bytearray(NPY)
    _core.sniff(data)
    _core.Hasher().update(data)
    _core.canonicalize_json(bytearray(b"[1]"))
    data.extend(b"more")  # BufferError if an export were still held
    assert len(data) == len(NPY) + 4


@pytest.mark.parametrize("call", [_core.sniff, _core.Hasher().update, _core.canonicalize_json])
def test_a_strided_buffer_is_refused_with_a_buffer_error_that_says_why(call):
    with pytest.raises(BufferError, match="not contiguous"):
        call(np.arange(64, dtype=np.uint8)[::2])


@pytest.mark.parametrize("bad", [3, None, ["a.npy"], object()])
def test_a_path_of_the_wrong_type_is_a_type_error(bad):
    with pytest.raises(TypeError, match="expected str, bytes or os.PathLike"):
        _core.walk(bad)
    with pytest.raises(TypeError):
        _core.hash_file(bad)


def test_sniff_of_neither_a_path_nor_a_buffer_names_what_it_takes():
    with pytest.raises(TypeError, match="sniff takes a path .* or a bytes-like object, not int"):
        _core.sniff(3)


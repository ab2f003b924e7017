"""The typed face of the native module: `_core.pyi` parses and names exactly what `_core` has."""

from __future__ import annotations

import ast
from pathlib import Path

import receiptcore
from receiptcore import _core

STUB = Path(receiptcore.__file__).with_name("_core.pyi")


def stub_names() -> set[str]:
    tree = ast.parse(STUB.read_text(), filename=str(STUB))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


def test_every_native_name_has_a_stub_and_every_stub_exists():
    native = {name for name in dir(_core) if not name.startswith("_")}
    assert native == stub_names()


def test_py_typed_ships_beside_the_package():
    assert STUB.with_name("py.typed").exists()

"""Every evasion the gate was shown to miss (issue #16), as picklescan's and fickling's tests build
them: hand-made opcode streams and real writers, made at test time, each beside a benign
look-alike that must stay safe. Nothing here is ever unpickled or loaded.

And the containers that try to exhaust a scanner: a zip bomb and 10,000 layers of nesting end
on the sniff's byte budget, with memory to spare."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pickle
import subprocess
import sys
import tarfile
import zipfile

import numpy as np
import pytest

from receiptcore import sniff

P = pickle  # opcode constants


class Call:
    """Pickles as ``func(*args)``."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def proto(n: int) -> bytes:
    return P.PROTO + bytes([n])


def short(text: str) -> bytes:
    return P.SHORT_BINUNICODE + bytes([len(text)]) + text.encode()


# Each evasion: a stream that runs code when a real pickle.load reads it, and one of the same
# shape that only builds data.
def three_on_the_stack(module: str, name: str) -> bytes:
    # STOP with three items on the stack: pickle.load returns the top one, after the call ran.
    return (proto(4) + P.BININT1 + b"\x01" + P.BININT1 + b"\x02" + P.GLOBAL
            + f"{module}\n{name}\n".encode() + short("id") + P.TUPLE1 + P.REDUCE + P.STOP)


def payload_then_memo_error(module: str, name: str) -> bytes:
    # The call runs, then a BINGET of a memo slot never set raises: the damage is done.
    return (proto(4) + P.GLOBAL + f"{module}\n{name}\n".encode() + P.UNICODE + b"echo hi\n"
            + P.TUPLE1 + P.REDUCE + P.POP + P.BINGET + b"\x03" + P.STOP)


def build_over_a_module(target: str) -> bytes:
    # torch._utils is fetched, its __dict__ overwritten by BUILD, then a name looked up in it.
    return (proto(4) + short("torch") + short("_utils") + P.STACK_GLOBAL + P.MEMOIZE
            + P.EMPTY_DICT + short("_rebuild_tensor") + short(target) + P.SETITEM + P.BUILD
            + P.POP + P.BINGET + b"\x00" + P.BINGET + b"\x00" + P.STACK_GLOBAL + P.STOP)


def build_over_an_object() -> bytes:
    # BUILD setting the state of an ordinary allowed object.
    return (proto(4) + short("collections") + short("OrderedDict") + P.STACK_GLOBAL
            + P.EMPTY_TUPLE + P.REDUCE + P.EMPTY_DICT + short("a") + P.BININT1 + b"\x01"
            + P.SETITEM + P.BUILD + P.STOP)


def names_from_the_memo(module: str, name: str) -> bytes:
    # STACK_GLOBAL whose strings come from the memo, not from the stream at that point.
    return (proto(4) + short(module) + P.MEMOIZE + short(name) + P.MEMOIZE + P.POP + P.POP
            + P.BINGET + b"\x00" + P.BINGET + b"\x01" + P.STACK_GLOBAL + short("id")
            + P.TUPLE1 + P.REDUCE + P.STOP)


def npy_object_array(*items) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.array(list(items), dtype=object), allow_pickle=True)
    return buf.getvalue()


def zipped(data: bytes, method=zipfile.ZIP_STORED, name="data.pkl") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as z:
        z.writestr("README.md", "# an ordinary archive\n")
        z.writestr(name, data)
    return buf.getvalue()


def tarred(data: bytes, name="data.bin") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zstd(data: bytes) -> bytes:
    zstandard = pytest.importorskip("zstandard")
    return zstandard.ZstdCompressor().compress(data)


def safetensors() -> bytes:
    from safetensors.numpy import save

    return save({"w": np.ones((8, 8), dtype=np.float32)})


EVIL = Call(os.system, "id")
PLAIN = {"lr": 0.1, "names": ["a", "b"], "shape": (3, 4)}

# name -> (malicious, benign look-alike)
PICKLES = {
    "protocol 4, three items left on the stack":
        (three_on_the_stack("os", "system"), three_on_the_stack("builtins", "str")),
    "protocol 4, payload before a memo error":
        (payload_then_memo_error("os", "system"), payload_then_memo_error("builtins", "set")),
    "protocol 4, BUILD overriding a module's names":
        (build_over_a_module("builtins"), build_over_an_object()),
    "protocol 4, names built from the memo":
        (names_from_the_memo("subprocess", "getoutput"),
         names_from_the_memo("collections", "OrderedDict")),
    ".npy object array whose element calls exec":
        (npy_object_array(Call(exec, "x = 1"), 2), npy_object_array((1, 2), "text", None)),
    **{f"protocol {n}": (pickle.dumps(EVIL, protocol=n), pickle.dumps(PLAIN, protocol=n))
       for n in range(6)},
    "several pickles, the second one evil":
        (pickle.dumps(PLAIN) + pickle.dumps(Call(eval, "1"), protocol=2),
         pickle.dumps(PLAIN) + pickle.dumps(["more"], protocol=2)),
    "INST opcode":
        (P.MARK + P.STRING + b"'x = 1'\n" + P.INST + b"__builtin__\nexec\n" + P.STOP,
         P.MARK + P.STRING + b"'abc'\n" + P.INST + b"__builtin__\nset\n" + P.STOP),
    "OBJ opcode":
        (P.MARK + P.GLOBAL + b"pty\nspawn\n" + P.STRING + b"'id'\n" + P.OBJ + P.STOP,
         P.MARK + P.GLOBAL + b"collections\nOrderedDict\n" + P.OBJ + P.STOP),
    "a dotted name under an allowed module":
        (proto(4) + P.GLOBAL + b"builtins\neval.__call__\n" + P.UNICODE + b"1\n" + P.TUPLE1
         + P.REDUCE + P.STOP,
         proto(4) + P.GLOBAL + b"builtins\nstr\n" + P.UNICODE + b"1\n" + P.TUPLE1 + P.REDUCE
         + P.STOP),
    "runpy, socket, importlib, webbrowser":
        (pickle.dumps([Call(__import__("runpy").run_path, "x"),
                       Call(__import__("importlib").import_module, "os")]),
         pickle.dumps([PLAIN, PLAIN])),
}

# name -> wrapper; each wraps an evil pickle and its plain look-alike.
WRAPPERS = {
    "zip (stored)": zipped,
    "zip (deflated)": lambda d: zipped(d, zipfile.ZIP_DEFLATED),
    "zip (bzip2)": lambda d: zipped(d, zipfile.ZIP_BZIP2),
    "zip (lzma)": lambda d: zipped(d, zipfile.ZIP_LZMA),
    "zip in a zip": lambda d: zipped(zipped(d), name="inner.zip"),
    "tar": tarred,
    "tar.gz": lambda d: gzip.compress(tarred(d)),
    "gzip": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "lzma (alone)": lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE),
    "zstd": zstd,
}


def unsafe(data: bytes) -> tuple[str, ...]:
    found = sniff(data)
    return found.unsafe_globals if found else ()


@pytest.mark.parametrize("name", sorted(PICKLES))
def test_each_evasion_is_caught_and_its_look_alike_is_not(name):
    evil, benign = PICKLES[name]
    assert unsafe(evil), name
    assert unsafe(benign) == (), name


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
def test_pickles_inside_wrappers_are_read(wrapper):
    wrap = WRAPPERS[wrapper]
    assert "posix.system" in unsafe(wrap(pickle.dumps(EVIL, protocol=4))) or (
        "nt.system" in unsafe(wrap(pickle.dumps(EVIL, protocol=4))))
    inner = sniff(wrap(pickle.dumps(PLAIN, protocol=4)))
    assert inner is not None and inner.unsafe_globals == () and inner.family == "pickle"


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
def test_weights_inside_wrappers_are_weights_and_text_inside_is_nothing(wrapper):
    wrap = WRAPPERS[wrapper]
    found = sniff(wrap(safetensors()))
    assert found and (found.format, found.family) == ("safetensors", "weights"), wrapper
    assert sniff(wrap(b"just some words in a file\n" * 50)) is None


def test_plain_data_is_a_pickle_not_weights():
    found = sniff(pickle.dumps({"lr": 0.1}))
    assert (found.family, found.unsafe_globals) == ("pickle", ())


def _peak_rss_kib(code: str) -> int:
    """Runs ``code`` in a fresh interpreter and returns its peak resident set (KiB)."""
    probe = (f"{code}\nimport resource\n"
             "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    return int(done.stdout.split()[-1])


def test_a_zip_bomb_and_deep_nesting_end_on_the_budget_not_on_memory(tmp_path):
    bomb = tmp_path / "bomb.zip"
    # 1 GiB of zeros in about 1 MiB: far past the 64 MiB a sniff inflates per file.
    with (zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z,
          z.open("zeros.bin", "w", force_zip64=True) as f):
        block = bytes(1 << 20)
        for _ in range(1024):
            f.write(block)
    # A safetensors file behind 10,000 gzip layers: the depth limit stops the descent.
    nested = tmp_path / "nested.gz"
    data = safetensors()
    for _ in range(10_000):
        data = gzip.compress(data, compresslevel=0)
    nested.write_bytes(data)
    baseline = _peak_rss_kib("import receiptcore")
    peak = _peak_rss_kib(f"import receiptcore\n"
                         f"a = receiptcore.sniff({str(bomb)!r})\n"
                         f"b = receiptcore.sniff({str(nested)!r})\n"
                         "assert a is None, a\n"
                         "assert b.family == 'opaque' and 'depth' in b.evidence, b")
    # The 64 MiB inflate budget streams through a small window: far less than that is held.
    assert peak - baseline < 32 * 1024, (baseline, peak)


def test_many_members_and_nested_archives_are_bounded(tmp_path):
    # 1,000 members: past the 128 read, the archive is not cleared.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(1_000):
            z.writestr(f"m{i}.txt", "x")
        z.writestr("last.pkl", pickle.dumps(EVIL))
    found = sniff(buf.getvalue())
    assert found is not None and (found.unsafe_globals or found.family == "opaque"), found
    # A zip of a zip of a zip of a zip: past three levels the innermost is not opened.
    data = pickle.dumps(EVIL)
    for _ in range(5):
        data = zipped(data, name="inner.zip")
    found = sniff(data)
    assert found is not None and found.family == "opaque", found

"""Pickle verdicts side by side: receiptcore's `sniff` against picklescan and modelscan on the
same samples, made here (never loaded): the classes of their own test suites (picklescan's
`tests/data` and modelscan's notebooks: payloads through os, subprocess, socket, runpy, eval and
exec, in every protocol, in zips, compressed streams, NumPy and PyTorch files) and the evasions
of issue #16 (a stream ending with items left on the stack, a payload before a memo error, a
BUILD over a module, names from the memo, several pickles, wrappers the others do not open),
each with benign samples. Prints, per tool, how many it called right, what it missed or
falsely flagged, and its time; a verdict is "unsafe" when the tool reports the file.

    python benches/bench_pickles.py
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

P = pickle


class Reduce:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def samples(d: Path) -> dict[str, bool]:
    """Writes the samples into ``d``; returns name -> malicious."""
    import runpy
    import socket
    import subprocess as sp

    out: dict[str, bool] = {}

    def put(name: str, data: bytes, bad: bool) -> None:
        (d / name).write_bytes(data)
        out[name] = bad

    evil = {"eval": Reduce(eval, "1"), "system": Reduce(os.system, "id"),
            "exec": Reduce(exec, "x=1"), "runpy": Reduce(runpy._run_code, "1", {}),
            "socket": Reduce(socket.create_connection, ("example.invalid", 80)),
            "subprocess": Reduce(sp.run, ["id"])}
    for protocol in range(6):
        put(f"benign_v{protocol}.pkl", pickle.dumps(["a", "b", {"lr": 0.1}], protocol), False)
        for name, obj in evil.items():
            put(f"{name}_v{protocol}.pkl", pickle.dumps(obj, protocol), True)
    put("inst.pkl", b"(S'x=1'\ni__builtin__\nexec\n.", True)
    put("memo_names.pkl", b"Vos\np2\n0Vsystem\np3\n0g2\ng3\n\x93(Vid\ntR.", True)
    put("memo_error.pkl", P.PROTO + b"\x04" + P.GLOBAL + b"os\nsystem\n" + P.UNICODE
        + b"id\n" + P.TUPLE1 + P.REDUCE + P.POP + P.BINGET + b"\x03" + P.STOP, True)
    put("two_pickles.pkl", pickle.dumps([1]) + pickle.dumps(evil["eval"]), True)
    put("nested_loads.pkl", P.PROTO + b"\x05" + P.GLOBAL + b"pickle\nloads\n" + P.BINBYTES
        + len(b := pickle.dumps(evil["system"])).to_bytes(4, "little") + b + P.TUPLE1
        + P.REDUCE + P.STOP, True)
    # Issue #16's protocol-4 evasions.
    put("three_on_stack.pkl", P.PROTO + b"\x04" + P.BININT1 + b"\x01" + P.BININT1 + b"\x02"
        + P.GLOBAL + b"os\nsystem\n" + P.SHORT_BINUNICODE + b"\x02id" + P.TUPLE1 + P.REDUCE
        + P.STOP, True)
    put("build_over_module.pkl", P.PROTO + b"\x04" + P.SHORT_BINUNICODE + b"\x05torch"
        + P.SHORT_BINUNICODE + b"\x06_utils" + P.STACK_GLOBAL + P.MEMOIZE + P.EMPTY_DICT
        + P.SHORT_BINUNICODE + b"\x0f_rebuild_tensor" + P.SHORT_BINUNICODE + b"\x08builtins"
        + P.SETITEM + P.BUILD + P.POP + P.BINGET + b"\x00" + P.BINGET + b"\x00"
        + P.STACK_GLOBAL + P.STOP, True)
    put("ordered_dict.pkl", pickle.dumps(__import__("collections").OrderedDict(a=1), 4), False)
    # Wrappers: the same payload in each, and a plain pickle in each.
    payload, plain = pickle.dumps(evil["system"], 4), pickle.dumps({"lr": 0.1}, 4)
    wrappers = {"bz2": bz2.compress, "xz": lzma.compress,
                "lzma": lambda b: lzma.compress(b, format=lzma.FORMAT_ALONE),
                "tar": _tar, "zipdeflate": lambda b: _zip(b, zipfile.ZIP_DEFLATED),
                "zipbz2": lambda b: _zip(b, zipfile.ZIP_BZIP2),
                "ziplzma": lambda b: _zip(b, zipfile.ZIP_LZMA)}
    for name, wrap in wrappers.items():
        put(f"wrapped_evil.{name}", wrap(payload), True)
        put(f"wrapped_plain.{name}", wrap(plain), False)
    buf = io.BytesIO()
    np.save(buf, np.array([evil["exec"]], dtype=object), allow_pickle=True)
    put("object_exec.npy", buf.getvalue(), True)
    buf = io.BytesIO()
    np.save(buf, np.array([(1, 2), "x"], dtype=object), allow_pickle=True)
    put("object_plain.npy", buf.getvalue(), False)
    for name, bad in (("zip_evil.zip", True), ("zip_plain.zip", False)):
        z = io.BytesIO()
        with zipfile.ZipFile(z, "w") as f:
            f.writestr("data.pkl", pickle.dumps(evil["eval"] if bad else [1, 2]))
        put(name, z.getvalue(), bad)
    put("gz_evil.pkl.gz", gzip.compress(pickle.dumps(evil["system"])), True)
    try:
        import dill

        put("dill_v0.pkl", dill.dumps(evil["eval"], protocol=0), True)
        put("dill_plain_v0.pkl", dill.dumps(["a", "b"], protocol=0), False)
    except ImportError:
        pass
    try:
        import joblib

        joblib.dump({"w": np.ones(8), "x": np.array([evil["eval"]], dtype=object)},
                    d / "evil.joblib")
        out["evil.joblib"] = True
        joblib.dump({"w": np.ones(8)}, d / "plain.joblib")
        out["plain.joblib"] = False
    except ImportError:
        pass
    try:
        import torch

        torch.save({"w": torch.ones(3)}, d / "state.pt")
        out["state.pt"] = False
        torch.save({"w": torch.ones(3)}, d / "legacy.pt", _use_new_zipfile_serialization=False)
        out["legacy.pt"] = False

        class Injected:  # modelscan's PickleInject: a call beside the state
            Pickler = pickle.Pickler

            @staticmethod
            def dump(obj, f, protocol=2):
                f.write(pickle.dumps((evil["system"], obj), protocol=protocol))

        torch.save({"w": torch.ones(3)}, d / "injected.pt", pickle_module=Injected,
                   _use_new_zipfile_serialization=False)
        out["injected.pt"] = True
    except ImportError:
        pass
    return out


def _zip(data: bytes, method: int = zipfile.ZIP_STORED) -> bytes:
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w", compression=method) as f:
        f.writestr("data.pkl", data)
    return z.getvalue()


def _tar(data: bytes) -> bytes:
    t = io.BytesIO()
    with tarfile.open(fileobj=t, mode="w") as f:
        info = tarfile.TarInfo("data.pkl")
        info.size = len(data)
        f.addfile(info, io.BytesIO(data))
    return t.getvalue()


def ours(d: Path, names: list[str]) -> dict[str, bool]:
    from receiptcore import sniff

    verdicts = {}
    for n in names:
        s = sniff(d / n)
        verdicts[n] = bool(s and (s.unsafe_globals or s.family == "opaque"))
    return verdicts


def picklescan(d: Path, names: list[str]) -> dict[str, bool] | None:
    try:
        from picklescan.scanner import scan_file_path
    except ImportError:
        return None
    return {n: scan_file_path(str(d / n)).infected_files > 0 for n in names}


def modelscan(d: Path, names: list[str]) -> dict[str, bool] | None:
    """One run over the folder, as users run it; a file is reported when an issue's source is
    the file or a member of it (``archive.zip:data.pkl``)."""
    exe = shutil.which("modelscan") or str(Path(sys.executable).with_name("modelscan"))
    if not Path(exe).exists():
        return None
    report = d.parent / "modelscan.json"
    subprocess.run([exe, "-p", str(d), "-r", "json", "-o", str(report)], capture_output=True,
                   check=False)
    issues = json.loads(report.read_text())["issues"]
    flagged = {Path(i["source"].split(":")[0]).name for i in issues}
    return {n: n in flagged for n in names}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "samples"
        d.mkdir()
        truth = samples(d)
        names = sorted(truth)
        print(f"\n## Pickle verdicts on {len(names)} samples "
              f"({sum(truth.values())} malicious)\n")
        print("| tool | right | missed | false alarms | seconds |")
        print("|---|---:|---:|---:|---:|")
        for tool, fn in (("receiptcore sniff", ours), ("picklescan", picklescan),
                         ("modelscan", modelscan)):
            start = time.perf_counter()
            got = fn(d, names)
            seconds = time.perf_counter() - start
            if got is None:
                print(f"| {tool} | not installed | | | |")
                continue
            missed = [n for n in names if truth[n] and not got[n]]
            false = [n for n in names if got[n] and not truth[n]]
            right = len(names) - len(missed) - len(false)
            print(f"| {tool} | {right}/{len(names)} | {len(missed)} | {len(false)} | "
                  f"{seconds:.3f} |")
            if missed or false:
                print(f"|   missed: {', '.join(missed) or '-'}; false: {', '.join(false) or '-'} |"
                      " | | | |")


if __name__ == "__main__":
    main()

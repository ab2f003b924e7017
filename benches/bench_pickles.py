"""Pickle verdicts side by side: receiptcore's `sniff` against picklescan and modelscan on the
same samples, made here (never loaded): the classes of their own test suites, malicious and
benign, in every protocol and in the wrappers they are found in. Prints, per tool, how many
samples it called right and its time.

    python benches/bench_pickles.py
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
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
        import torch

        torch.save({"w": torch.ones(3)}, d / "state.pt")
        out["state.pt"] = False
        torch.save({"w": torch.ones(3)}, d / "legacy.pt", _use_new_zipfile_serialization=False)
        out["legacy.pt"] = False
    except ImportError:
        pass
    return out


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
    exe = shutil.which("modelscan") or str(Path(sys.executable).with_name("modelscan"))
    if not Path(exe).exists():
        return None
    verdicts = {}
    for n in names:
        done = subprocess.run([exe, "-p", str(d / n), "-r", "json"], capture_output=True,
                              text=True, check=False)
        try:
            report = json.loads(done.stdout[done.stdout.index("{"):])
            verdicts[n] = bool(report.get("issues"))
        except ValueError:
            verdicts[n] = done.returncode == 1
    return verdicts


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        truth = samples(d)
        names = sorted(truth)
        print(f"\n## Pickle verdicts on {len(names)} samples "
              f"({sum(truth.values())} malicious)\n")
        print("| tool | right | missed | false alarms | seconds |")
        print("|---|---:|---:|---:|---:|")
        for tool, fn in (("receiptcore sniff", ours), ("picklescan", picklescan),
                         ("modelscan (one process per file)", modelscan)):
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

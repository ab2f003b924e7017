"""What the gate must catch and what it must let through: pickles of every protocol and their
imports, pickles inside containers, datasets, LFS pointers and private keys, each made at test
time by the real writer or by hand, with its benign look-alike. No sample is ever loaded."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pickle
import tarfile
import zipfile

import numpy as np
import pytest

from receiptcore import sniff
from receiptcore._core import allowed_globals, is_allowed_global
from support import samples

P = pickle  # opcode constants, to build streams by hand as picklescan's and fickling's tests do


class Reduce:
    """Pickles as a call of ``func(*args)``; nothing here is ever unpickled."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


EVIL = {
    "eval": Reduce(eval, "print(1)"),
    "system": Reduce(os.system, "id"),
    "exec": Reduce(exec, "x = 1"),
}


def unsafe(data_or_path) -> list[str]:
    found = sniff(data_or_path)
    return list(found.unsafe_globals) if found else []


@pytest.mark.parametrize("protocol", range(6))
@pytest.mark.parametrize("name", sorted(EVIL))
def test_every_protocol_names_its_imports(protocol, name):
    got = unsafe(pickle.dumps(EVIL[name], protocol=protocol))
    assert len(got) == 1 and got[0].endswith(("eval", "system", "exec")), got


@pytest.mark.parametrize("protocol", range(6))
def test_plain_data_of_every_protocol_is_not_unsafe(protocol):
    found = sniff(pickle.dumps({"lr": 0.1, "names": ["a", "b"], "t": (1, None)}, protocol))
    assert found is not None and found.family == "pickle"
    assert found.unsafe_globals == ()


def test_dill_and_cloudpickle_payloads_are_found_and_their_plain_data_is_not():
    dill = pytest.importorskip("dill")
    for protocol in (0, 3, 4):
        assert unsafe(dill.dumps(EVIL["eval"], protocol=protocol))
        assert not unsafe(dill.dumps(["a", "b", "c"], protocol=protocol))


def test_the_issues_four_protocol_4_evasions():
    # Three items left on the stack at STOP: pickle.load returns the top one.
    three = (P.PROTO + b"\x04" + P.BININT1 + b"\x01" + P.BININT1 + b"\x02"
             + P.GLOBAL + b"os\nsystem\n" + P.SHORT_BINUNICODE + b"\x02id" + P.TUPLE1
             + P.REDUCE + P.STOP)
    assert unsafe(three) == ["os.system"]
    # The payload runs, then a memo lookup fails.
    memo = (P.PROTO + b"\x04" + P.GLOBAL + b"os\nsystem\n" + P.UNICODE + b"echo hi\n"
            + P.TUPLE1 + P.REDUCE + P.POP + P.BINGET + b"\x03" + P.STOP)
    assert unsafe(memo) == ["os.system"]
    # A module object overwritten through BUILD, then names computed from it.
    override = (P.PROTO + b"\x04" + P.SHORT_BINUNICODE + b"\x05torch" + P.SHORT_BINUNICODE
                + b"\x06_utils" + P.STACK_GLOBAL + P.MEMOIZE + P.EMPTY_DICT
                + P.SHORT_BINUNICODE + b"\x0f_rebuild_tensor" + P.SHORT_BINUNICODE
                + b"\x08builtins" + P.SETITEM + P.BUILD + P.POP + P.BINGET + b"\x00"
                + P.BINGET + b"\x00" + P.STACK_GLOBAL + P.STOP)
    got = unsafe(override)
    assert any("BUILD" in g for g in got) and any("computed" in g for g in got), got
    # An object array in a .npy whose element calls exec.
    buf = io.BytesIO()
    np.save(buf, np.array([EVIL["exec"], 1], dtype=object), allow_pickle=True)
    assert unsafe(buf.getvalue()) == ["builtins.exec"]


def test_object_arrays_of_plain_values_are_tensor_data_and_safe(tmp_path):
    np.save(tmp_path / "o.npy", np.array([(1, 2), "x"], dtype=object), allow_pickle=True)
    found = sniff(tmp_path / "o.npy")
    assert (found.format, found.unsafe_globals) == ("npy", ())
    np.savez(tmp_path / "o.npz", a=np.array([1, "b"], dtype=object),
             b=np.array([EVIL["system"]], dtype=object))
    assert unsafe(tmp_path / "o.npz") == ["posix.system" if os.name == "posix" else "nt.system"]


def test_several_pickles_in_one_file_are_all_read():
    data = pickle.dumps(["a", "b"]) + pickle.dumps(EVIL["eval"], protocol=2)
    assert unsafe(data) == ["__builtin__.eval"]  # protocol 2 names builtins the Python 2 way


def test_inst_obj_and_ext_opcodes_are_judged():
    inst = P.MARK + P.STRING + b"'x = 1'\n" + P.INST + b"__builtin__\nexec\n" + P.STOP
    assert unsafe(inst) == ["__builtin__.exec"]
    obj = P.MARK + P.GLOBAL + b"pty\nspawn\n" + P.STRING + b"'id'\n" + P.OBJ + P.STOP
    assert unsafe(obj) == ["pty.spawn"]
    ext = P.PROTO + b"\x02" + P.EXT1 + b"\x07" + P.EMPTY_TUPLE + P.REDUCE + P.STOP
    assert any("extension code 7" in g for g in unsafe(ext))


def test_names_are_compared_whole():
    dotted = (P.PROTO + b"\x04" + P.GLOBAL + b"builtins\neval.__call__\n" + P.UNICODE
              + b"1\n" + P.TUPLE1 + P.REDUCE + P.STOP)
    assert unsafe(dotted) == ["builtins.eval.__call__"]
    assert not is_allowed_global("collections.OrderedDict.fromkeys")
    assert is_allowed_global("collections.OrderedDict")
    assert "torch._utils._rebuild_tensor_v2" in allowed_globals()


def test_torch_files_are_weights_and_safe_unless_a_payload_is_injected(tmp_path):
    torch = pytest.importorskip("torch")
    state = {"w": torch.ones(2, 2), "b": torch.zeros(2)}
    torch.save(state, tmp_path / "new.pt")
    torch.save(state, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    for name in ("new.pt", "old.pt"):
        found = sniff(tmp_path / name)
        assert found.family == "weights" and found.unsafe_globals == (), found
        assert any("_rebuild_tensor" in g for g in found.globals), found.globals

    class Injected:
        """A pickle module whose dump adds an os.system call beside the state (modelscan's
        PickleInject, in a few lines)."""

        class Pickler(pickle.Pickler):
            def persistent_id(self, obj):
                return None

        @staticmethod
        def dump(obj, f, protocol=2):
            f.write(pickle.dumps((EVIL["system"], obj), protocol=protocol))

    torch.save(state, tmp_path / "evil.pt", pickle_module=Injected,
               _use_new_zipfile_serialization=False)
    assert "system" in " ".join(unsafe(tmp_path / "evil.pt"))


def test_joblib_dumps_step_over_raw_arrays_and_read_object_arrays(tmp_path):
    joblib = pytest.importorskip("joblib")
    joblib.dump({"coef": np.arange(1000.0), "tail": "ok"}, tmp_path / "m.joblib")
    found = sniff(tmp_path / "m.joblib")
    assert (found.format, found.unsafe_globals) == ("joblib", ())
    assert "raw arrays stepped over" in found.evidence
    joblib.dump({"w": np.ones(10), "x": np.array([EVIL["eval"]], dtype=object)},
                tmp_path / "evil.joblib")
    assert "builtins.eval" in unsafe(tmp_path / "evil.joblib")
    for compress in ("zlib", "gzip", "bz2", "xz"):
        joblib.dump({"x": EVIL["system"]}, tmp_path / f"c.{compress}", compress=compress)
        assert unsafe(tmp_path / f"c.{compress}"), compress


def _zip(members: dict[str, bytes], method=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _tar(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _safetensors() -> bytes:
    from safetensors.numpy import save

    return save({"w": np.ones((4, 4), dtype=np.float32)})


def test_wrappers_are_looked_into():
    evil = pickle.dumps(EVIL["eval"], protocol=4)
    st = _safetensors()
    zstd = pytest.importorskip("zstandard")
    wrapped = {
        "zip": _zip({"README": b"hi", "data.txt": evil}),
        "zip-deflate": _zip({"data.pkl": evil}, zipfile.ZIP_DEFLATED),
        "tar": _tar({"a/data.bin": evil}),
        "tar.gz": gzip.compress(_tar({"x.bin": evil})),
        "bz2": bz2.compress(evil),
        "xz": lzma.compress(evil),
        "xz -9e": lzma.compress(evil, preset=9 | lzma.PRESET_EXTREME),
        "lzma-in-zip": _zip({"inner.zip": _zip({"p": evil})}),
        "zstd": zstd.ZstdCompressor().compress(evil),
    }
    for name, data in wrapped.items():
        assert unsafe(data) == ["builtins.eval"], name
    for name, data in {"zip": _zip({"model.safetensors": st}), "tar": _tar({"m": st}),
                       "gzip": gzip.compress(st), "zstd": zstd.ZstdCompressor().compress(st),
                       "zip-deflate": _zip({"m.st": st}, zipfile.ZIP_DEFLATED)}.items():
        found = sniff(data)
        assert found and (found.format, found.family) == ("safetensors", "weights"), name


def test_a_stream_whose_decoder_gives_nothing_fails_closed():
    """A zstd frame compressed with a dictionary: a loader holding it reads the pickle, the
    scan cannot, so it is opaque; so is a gzip corrupt from its first byte."""
    zstd = pytest.importorskip("zstandard")
    samples = [pickle.dumps({"k": i, "v": list(range(i))}) for i in range(300)]
    framed = zstd.ZstdCompressor(dict_data=zstd.train_dictionary(1024, samples)).compress(
        pickle.dumps(EVIL["eval"], protocol=4))
    for data in (framed, b"\x1f\x8b\x08\x00" + b"\xff" * 40):
        found = sniff(data)
        assert found and (found.format, found.family) == ("undecodable_stream", "opaque"), found


def test_plain_archives_are_nothing():
    docs = {"README.md": b"# docs\n", "a/b.txt": b"text\n" * 100}
    for data in (_zip(docs), _zip(docs, zipfile.ZIP_DEFLATED), _tar(docs),
                 gzip.compress(_tar(docs)), bz2.compress(b"words " * 1000)):
        assert sniff(data) is None


def test_a_pickle_behind_deep_nesting_fails_closed():
    # (The zip bomb and its peak memory: test_sniff_evasions.py.)
    data = pickle.dumps(EVIL["eval"])
    for _ in range(10_000):
        data = gzip.compress(data, compresslevel=0)  # stored blocks: 10,000 layers in a second
    found = sniff(data)
    assert found.family == "opaque" and "depth" in found.evidence


def test_datasets_from_their_real_writers(tmp_path):
    for fmt, path in samples.datasets(tmp_path).items():
        found = sniff(path)
        assert found and (found.format, found.family) == (fmt, "dataset"), (path.name, found)


def test_lfs_pointers_and_private_keys_by_content(tmp_path):
    pointer = ("version https://git-lfs.github.com/spec/v1\n"
               f"oid sha256:{'ab' * 32}\nsize 360448\n")
    found = sniff(pointer.encode())
    assert found.family == "lfs_pointer" and "360448" in found.evidence
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    keys = {"ed": ed25519.Ed25519PrivateKey.generate(),
            "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ec": ec.generate_private_key(ec.SECP256R1())}
    for name, key in keys.items():
        for enc, fmt in ((s.Encoding.PEM, s.PrivateFormat.PKCS8),
                         (s.Encoding.DER, s.PrivateFormat.PKCS8),
                         (s.Encoding.PEM, s.PrivateFormat.OpenSSH)):
            data = key.private_bytes(enc, fmt, s.NoEncryption())
            found = sniff(data)
            assert found and found.family == "private_key", (name, enc, fmt)
        public = key.public_key().public_bytes(s.Encoding.PEM,
                                               s.PublicFormat.SubjectPublicKeyInfo)
        assert sniff(public) is None
    from receiptcore.ledger.checkpoint import SignerKey

    note = SignerKey.generate("ledger.test").to_text().encode()
    assert sniff(note).format == "note_key"


def test_text_clears_a_binary_name_only_when_asked(tmp_path):
    pth = tmp_path / "distutils-precedence.pth"
    pth.write_text("import os; var = 'SETUPTOOLS_USE_DISTUTILS'; "
                   "enabled = os.environ.get(var, 'local') == 'local'\n")
    assert sniff(pth) is None
    assert sniff(pth, text=True).family == "text"
    assert sniff(b"\x00\x01\x02binary", text=True) is None

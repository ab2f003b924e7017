"""The rule catalogue: every rule's stable id, title, default, knob and explanation, in one table.

Ids are stable: they appear in baselines, ``disable`` lists, JSON and SARIF, so they never change
meaning. The checks themselves live in :mod:`receiptcore.scan.rules` (files) and
:mod:`receiptcore.scan.imports` (import contracts); the configuration reads ids from here, so
neither depends on the other (as ruff keeps ``codes.rs`` apart from rule code).

The table is in order of severity: a file that several rules flag is one finding, reported
under the first of them (code that runs on load before bytes that do not belong, before a
file that is merely large), with every other rule that matched listed beside it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    default: str
    knob: str
    explain: str


RULES = (
    Rule("unsafe-pickle", "pickles that import something outside the allow-list",
         "on", "disable = [\"unsafe-pickle\"]",
         "Loading a pickle runs whatever it imports. Every pickle in a file is read without "
         "loading it (protocols 0 to 5, several pickles one after another, pickles inside "
         ".npy/.npz object arrays, zips, tars and compressed streams, joblib and PyTorch "
         "files), and each import is checked against a short allow-list of tensor-rebuild and "
         "container callables (docs/sniff.md). Anything else (os.system, builtins.eval, "
         "subprocess, socket, runpy, importlib, names computed at load time...) is named in "
         "the evidence. More severe than the other rules: it is code, not only bytes."),
    Rule("private-key", "private keys by content",
         "on", "disable = [\"private-key\"]",
         "PEM private keys (PKCS#1, PKCS#8, SEC1, OpenSSH, encrypted, PGP), DER PKCS#8 keys, "
         "binary OpenSSH and PuTTY keys, and the ledger's note signing keys "
         "(PRIVATE+KEY+...). A signing key committed to the runtime repository signs for "
         "everyone who can read it."),
    Rule("weights", "model weights, by file name or by content",
         "the extensions .safetensors .pt .pth .bin .ckpt .gguf .h5 .pkl .joblib .tflite, "
         ".onnx over 1 MiB, and any file whose content sniffs as weights",
         "weight_extensions = [...]; onnx_size_threshold = \"1 MiB\"",
         "Weights belong in the artifact store, referenced by a signed receipt, never in the "
         "runtime repository. A file is flagged when its extension is in weight_extensions, or "
         "when its content is a known weights format (safetensors, PyTorch zip or pickle, "
         "pickle, joblib, GGUF/GGML, ONNX, HDF5/Keras, TFLite) whatever its name says. ONNX "
         "files (by name or content) are flagged only above onnx_size_threshold, so a small "
         "graph without weights may stay."),
    Rule("tensor-data", "tensor dumps (NumPy .npy/.npz) by content",
         "on", "disable = [\"tensor-data\"]",
         "Arrays saved with NumPy are data: embeddings, features, training sets. They belong "
         "with the pipelines. Flagged by content, whatever the file is called."),
    Rule("vector-index", "vector index snapshots by content (and .ann/.snapshot by name)",
         "on; vector_extensions = [\".ann\", \".snapshot\"]",
         "vector_extensions = [...]; disable = [\"vector-index\"]",
         "Vector indexes and stores (faiss, usearch, hnswlib, Chroma, Lance, Qdrant shards and "
         "segments, Milvus Lite databases and snapshots) are build outputs of the index "
         "pipeline; the runtime fetches them by id from the artifact store after checking "
         "their receipt. Flagged by content signature, and by extension (vector_extensions) "
         "for the formats that have none to confirm: Annoy's headerless .ann files and "
         "Qdrant's .snapshot tar archives."),
    Rule("dataset", "datasets by content (Parquet, Arrow, ORC, Avro, TFRecord, LMDB, WebDataset)",
         "on", "disable = [\"dataset\"]",
         "Dataset files belong with the pipelines, recorded in a dataset manifest. Found by "
         "content whatever their name or folder: Parquet, Arrow IPC (file, Feather and "
         "stream), Feather v1, ORC, Avro, TFRecord (by its length and CRC framing), LMDB "
         "environments and WebDataset shards. CSV and JSON lines have no signature and are "
         "left to forbidden_dirs and max_file_size."),
    Rule("lfs-pointer", "Git LFS pointers, and .gitattributes lines routing weights to LFS",
         "on", "disable = [\"lfs-pointer\"]",
         "A Git LFS pointer file names an object (its oid and size) kept outside git: the "
         "weights or data are still part of the repository, only stored elsewhere. A "
         ".gitattributes line that routes weight, dataset or vector-index patterns to LFS "
         "(filter=lfs) is reported with its line: it is how such files usually come in."),
    Rule("submodule", "git submodules, with the commit they pin",
         "on", "disable = [\"submodule\"]; a baseline entry allows one at its commit",
         "A submodule brings another repository's tree into every recursive clone, and the "
         "scan cannot see inside it from here: each is listed with its path and the commit "
         "it pins, so a gate allows or refuses it on purpose. Baselining one allows that "
         "commit only; moving the submodule to another commit is a new finding."),
    Rule("forbidden-dir", "dataset and dump directories at any depth",
         "datasets/ corpus/ prompts_dump/ embeddings_dump/",
         "forbidden_dirs = [\"datasets\", ...]",
         "A directory with one of these names, at any depth, holds data that has no place in "
         "the runtime repository. Reported once per directory with the number of files and "
         "bytes below it."),
    Rule("large-file", "files over the size limit",
         "max_file_size = \"1 MiB\"; data/ and artifacts/ allowed only while git-ignored",
         "max_file_size = \"1 MiB\"; [[allow_large]] path = \"...\", reason = \"...\"",
         "Any selected file bigger than max_file_size, unless an allow_large entry covers its "
         "path (each entry needs a reason). The default entries data/ and artifacts/ have "
         "ignored_only = true: they excuse a file only while git ignores it and does not track "
         "it, so a force-added checkpoint under data/ is still a finding."),
    Rule("unreadable", "files the scan could not read or name, so could not clear",
         "on", "disable = [\"unreadable\"]",
         "A selected file that could not be read (permissions, a FIFO, a tracked file missing "
         "from the working tree, a name that is not valid UTF-8) cannot be shown not to be "
         "weights or data, so the gate fails closed on it, with the reason."),
    Rule("import-boundary", "imports across the runtime/training boundary",
         "no contracts (declare them in config)",
         "[[contracts]] modules = [\"agents\"], forbidden = [\"training\", \"torch\"]",
         "A contract says the modules listed (and their submodules) may not import the "
         "forbidden ones (and their submodules), directly or through other modules. The "
         "static import graph is built with grimp (a Rust-backed parser); every import "
         "statement counts, including those inside functions, unless ignore_type_checking "
         "= true drops the ones under 'if TYPE_CHECKING:'. Reported with the whole chain and "
         "the file and line of its first import."),
    Rule("unverified-reference", "reference files whose artifact has no verified receipt",
         "on; the ledger, store and trust file as verify finds them",
         "disable = [\"unverified-reference\"]",
         "A reference file (PATH.artifact.json, left by receiptcore externalize) is never a "
         "finding for being one, but it must hold: valid against its contract and in its "
         "written form, its id with a receipt in the ledger, its commit a version of that id, "
         "its kind and size the receipt's, the receipt signed by a key in the trust file and "
         "included in the ledger's signed checkpoint, the stored bytes unchanged (re-hashed, as "
         "verify does), and the path it stands for not tracked beside it. Where no ledger can "
         "be read, every reference is a finding: no proof, no merge."),
)
RULE_IDS = tuple(rule.id for rule in RULES)
RULES_BY_ID = {rule.id: rule for rule in RULES}

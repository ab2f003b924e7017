"""A corpus folder as documents to embed: which files count, and what is refused.

Every regular file of the folder is in its dataset manifest (the library's
:func:`receiptcore.commitments.dataset_manifest`: the commit binds the whole folder). Which of
them are embedded is decided by the name, from one list, :data:`TEXT_SUFFIXES`:

- ``.txt``, ``.text``, ``.md``, ``.markdown``, ``.rst``: the whole file is one document;
- ``.jsonl``: each non-blank line is a JSON object whose ``"text"`` (a string) is one document,
  named ``path#L<line>``.

A file of a text kind that holds a NUL byte (binary) or is not valid UTF-8 is refused
(:class:`CorpusError`, naming the file and the byte): it is never embedded, nor silently
skipped. Any other file (an image, a ``.gitignore``) is skipped and *named* in the result, so
nothing is left out without a trace. A corpus with nothing to embed is refused too.

The bytes read are checked against the dataset manifest's sha256, so the embeddings are of
exactly the bytes the manifest commits to; a file that changed since it was hashed is a
:class:`FileChangedError` (exit 4), and nothing is published.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass

from receiptcore._core import Hasher
from receiptcore.contracts import DatasetManifest
from receiptcore.errors import CorpusError, FileChangedError

TEXT_SUFFIXES = (".txt", ".text", ".md", ".markdown", ".rst")
JSONL_SUFFIXES = (".jsonl",)


@dataclass(frozen=True)
class Document:
    """One document: its name in the chunk table and its text (``data`` is the text's UTF-8)."""

    name: str
    text: str
    data: bytes


def is_embedded(path: str) -> bool:
    """Whether a file of this (relative) name is read as documents."""
    suffix = posixpath.splitext(path)[1].lower()
    return suffix in TEXT_SUFFIXES or suffix in JSONL_SUFFIXES


def read_documents(
    manifest: DatasetManifest, files: list[tuple[str, str, int]]
) -> tuple[list[Document], list[str]]:
    """The documents of the corpus, in manifest order, and the files skipped (by name).
    ``files`` is :func:`receiptcore.commitments.list_corpus` of the folder the manifest lists."""
    by_path = {relative: path for relative, path, _ in files}
    documents, skipped = [], []
    for entry in manifest.files:
        if not is_embedded(entry.path):
            skipped.append(entry.path)
            continue
        data = _read_as_hashed(by_path[entry.path], entry.path, entry.sha256)
        if entry.path.lower().endswith(JSONL_SUFFIXES):
            documents.extend(_jsonl_documents(entry.path, data))
        else:
            documents.append(Document(entry.path, _text(entry.path, data, 0), data))
    if not any(d.text.strip() for d in documents):
        kinds = " ".join(TEXT_SUFFIXES + JSONL_SUFFIXES)
        raise CorpusError(f"nothing to embed: no non-empty document of a text kind ({kinds})")
    return documents, skipped


def _read_as_hashed(path: str, name: str, sha256: str) -> bytes:
    with open(path, "rb") as f:
        data = f.read()
    hasher = Hasher("sha256")
    hasher.update(data)
    if hasher.hexdigest() != sha256:
        raise FileChangedError(
            f"{name} changed while the corpus was read (its manifest says sha256 {sha256[:12]}..., "
            "the bytes read differ): run again on a corpus that is not being written"
        )
    return data


def _text(name: str, data: bytes, offset: int) -> str:
    nul = data.find(b"\0")
    if nul >= 0:
        raise CorpusError(f"{name}: binary content (a NUL byte at byte {offset + nul}); "
                          "remove it from the corpus or rename it to a non-text suffix")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CorpusError(f"{name}: not valid UTF-8 at byte {offset + error.start}") from None


def _jsonl_documents(name: str, data: bytes) -> list[Document]:
    documents, offset = [], 0
    for number, line in enumerate(data.split(b"\n"), start=1):
        where = f"{name}#L{number}"
        text = _text(where, line, offset)
        offset += len(line) + 1
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            raise CorpusError(f"{where}: not JSON ({error.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise CorpusError(f'{where}: expected an object with a "text" string')
        documents.append(Document(where, record["text"], record["text"].encode("utf-8")))
    return documents

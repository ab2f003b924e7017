"""What a corpus holds: text kinds embedded, other files named as skipped, binary and
non-UTF-8 text refused with the file and byte, a changed file caught."""

from __future__ import annotations

import pytest

from pipelines.corpus import read_documents
from receiptcore.commitments import dataset_manifest, list_corpus
from receiptcore.errors import CorpusError, ExitCode, FileChangedError


def _read(root):
    files = list_corpus(root)
    manifest = dataset_manifest(root, name="c", source="t", license="CC0-1.0", owner="o", files=files)
    return read_documents(manifest, files)


def test_text_markdown_and_json_lines_are_documents(corpus):
    documents, skipped = _read(corpus)
    assert [d.name for d in documents] == [
        "guide/ledger.md", "guide/store.txt", "notes.jsonl#L1", "notes.jsonl#L3"]
    assert documents[2].text.startswith("A receipt is")
    assert skipped == ["logo.png"]


def test_a_binary_file_of_a_text_kind_is_refused_by_name(corpus):
    (corpus / "guide" / "dump.txt").write_bytes(b"header\0\x01\x02")
    with pytest.raises(CorpusError, match=r"^guide/dump\.txt: binary content \(a NUL byte at byte 6\)"):
        _read(corpus)
    assert CorpusError.exit_code == ExitCode.CORPUS == 40


def test_non_utf8_text_is_refused_with_the_byte(corpus):
    (corpus / "latin1.md").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(CorpusError, match=r"^latin1\.md: not valid UTF-8 at byte 3$"):
        _read(corpus)


def test_a_bad_json_lines_record_is_refused_by_line(corpus):
    (corpus / "more.jsonl").write_text('{"text": "ok"}\n{"body": "no text"}\n')
    with pytest.raises(CorpusError, match=r'^more\.jsonl#L2: expected an object with a "text" string'):
        _read(corpus)


@pytest.mark.parametrize("files", [{"a.png": b"\x89PNG"}, {"empty.md": b"  \n"}])
def test_a_corpus_with_nothing_to_embed_is_refused(tmp_path, files):
    root = tmp_path / "c"
    root.mkdir()
    for name, data in files.items():
        (root / name).write_bytes(data)
    with pytest.raises(CorpusError, match="nothing to embed"):
        _read(root)


def test_a_file_changed_after_hashing_is_caught(corpus):
    files = list_corpus(corpus)
    manifest = dataset_manifest(corpus, name="c", source="t", license="CC0-1.0", owner="o", files=files)
    (corpus / "guide" / "ledger.md").write_text("rewritten while the pipeline ran")
    with pytest.raises(FileChangedError, match=r"^guide/ledger\.md changed while the corpus was read"):
        read_documents(manifest, files)


def test_an_empty_corpus_is_a_corpus_error_from_the_cli(tmp_path, monkeypatch, capsys):
    """The library refuses a manifest of nothing (exit 2); the pipeline names it as a corpus
    it cannot embed, with the pipeline's own code."""
    from receiptcore.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    assert main(["pipeline", "embed", "empty", "--id", "docs"]) == ExitCode.CORPUS
    err = capsys.readouterr().err
    assert err.startswith("receiptcore: error: nothing to embed: empty holds no file")

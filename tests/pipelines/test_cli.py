"""The `pipeline` command arrives through an entry point: the library finds it at run time and
never imports it (the project's scan proves no static import exists)."""

from __future__ import annotations

import subprocess
import sys

from receiptcore.cli import main, plugin_commands


def test_the_pipeline_command_is_an_entry_point_of_the_pipelines_package():
    [entry] = [e for e in plugin_commands() if e.name == "pipeline"]
    assert entry.value == "pipelines.cli:add_parser" and entry.dist.name == "receiptcore-pipelines"


def test_help_names_every_pipeline_with_examples(capsys):
    try:
        main(["pipeline", "--help"])
    except SystemExit as done:
        assert done.code == 0
    out = capsys.readouterr().out
    for verb in ("embed", "index", "lora", "query"):
        assert verb in out
    assert "receiptcore verify docs.faiss --lineage" in out


def test_the_installed_command_runs_it_and_lists_it_in_help():
    done = subprocess.run([sys.executable, "-m", "receiptcore.cli", "--help"], check=True,
                          capture_output=True, text=True)
    assert "pipeline" in done.stdout
    done = subprocess.run([sys.executable, "-m", "receiptcore.cli", "pipeline", "embed", "--help"],
                          check=True, capture_output=True, text=True)
    assert "--chunk-size" in done.stdout


def test_a_bad_corpus_is_one_line_and_its_exit_code_before_anything_is_made(corpus, home, capsys):
    (corpus / "broken.md").write_bytes(b"\xff\xfe not utf-8")
    assert main(["pipeline", "embed", str(corpus), "--id", "docs"]) == 40
    err = capsys.readouterr().err
    assert err == "receiptcore: error: broken.md: not valid UTF-8 at byte 0\n"
    assert not home.exists()  # no model published, no ledger made


def test_a_bad_id_is_refused_before_any_work(corpus, home, capsys):
    assert main(["pipeline", "embed", str(corpus), "--id", "bad id"]) == 5
    assert "--id" in capsys.readouterr().err and not home.exists()


def test_a_missing_corpus_is_an_io_error(tmp_path, home, capsys):
    assert main(["pipeline", "embed", str(tmp_path / "nope"), "--id", "docs"]) == 3

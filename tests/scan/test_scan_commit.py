"""The commit is what is judged, not the checkout: files that git converts on checkout (end of
line, smudge filters), files edited or deleted after staging, submodules, and directory names in
another case. And the verdict cache, by git object id, that lets a repeated scan read nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from receiptcore.scan.select import cache_file
from support.scanrepo import GIT, Repo, flagged, safetensors_bytes


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo.started(tmp_path / "repo")


def clone(repo: Repo, into: Path) -> Repo:
    subprocess.run([*GIT, "clone", "-q", str(repo.root), str(into)], check=True)
    return Repo.existing(into)


def report(repo: Repo, capsys, *args: str) -> dict:
    code, out, err = repo.scan(capsys, "--format", "json", *args)
    assert code in (0, 1), err
    return json.loads(out)


def test_a_checkout_mangled_by_eol_conversion_is_judged_by_its_blob(repo, capsys, tmp_path):
    import numpy as np
    from safetensors.numpy import save

    weights = save({"w": np.full((8, 8), 10, dtype=np.uint8)})  # bytes of 0x0a: '\n'
    assert b"\n" in weights  # the conversion has something to mangle
    repo.write(".gitattributes", "weights.dat text eol=crlf\n")
    repo.write("weights.dat", weights)
    repo.add(".")
    repo.commit()
    copy = clone(repo, tmp_path / "clone")
    on_disk = (copy.root / "weights.dat").read_bytes()
    assert on_disk != weights and b"\r\n" in on_disk  # mangled in the checkout
    for args in ([], ["--no-cache"]):
        found = {f["path"]: f for f in report(copy, capsys, *args)["findings"]}
        assert found["weights.dat"]["format"] == "safetensors", args
        blob = copy.git("rev-parse", "HEAD:weights.dat").strip()
        assert found["weights.dat"]["content"] == f"git:{blob}"
    # The same file in a pull request and in a staged change.
    base = copy.git("rev-parse", "HEAD").strip()
    copy.write("more.dat", weights)
    copy.write(".gitattributes", "*.dat text eol=crlf\n")
    copy.add(".")
    assert "more.dat" in flagged(report(copy, capsys, "--staged")["findings"], "weights")
    copy.commit()
    copy.git("rm", "-q", "--cached", "more.dat")
    copy.git("checkout", "-q", "--", ".")
    copy.git("reset", "-q", "--hard")  # a fresh checkout: CRLF on disk
    assert b"\r\n" in (copy.root / "more.dat").read_bytes()
    assert flagged(report(copy, capsys, "--diff", base)["findings"], "weights") == {"more.dat"}


def test_a_smudge_filter_cannot_hide_the_blob(repo, capsys, tmp_path):
    repo.write(".gitattributes", "*.bin filter=hide\n")
    repo.write("model.bin", safetensors_bytes())
    repo.add(".")
    repo.commit()
    copy = clone(repo, tmp_path / "clone")
    copy.git("config", "filter.hide.smudge", "echo nothing to see")
    copy.git("config", "filter.hide.clean", "cat")
    (copy.root / "model.bin").unlink()
    copy.git("checkout", "-q", "--", "model.bin")
    assert (copy.root / "model.bin").read_bytes() == b"nothing to see\n"
    found = {f["path"]: f for f in report(copy, capsys)["findings"]}
    assert found["model.bin"]["format"] == "safetensors"


def test_an_lfs_route_and_its_pointer_are_found_whatever_the_checkout_holds(repo, capsys):
    pointer = ("version https://git-lfs.github.com/spec/v1\n"
               "oid sha256:" + "ab" * 32 + "\nsize 352000\n")
    repo.write(".gitattributes", "*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
    repo.write("model.safetensors", pointer)
    repo.add(".")
    repo.commit()
    # What git-lfs would smudge into the working tree: the real weights.
    repo.write("model.safetensors", safetensors_bytes())
    found = {(f["path"], f["line"]): f for f in report(repo, capsys)["findings"]}
    assert found[("model.safetensors", None)]["rule"] == "lfs-pointer"
    assert "352000" in found[("model.safetensors", None)]["evidence"]
    assert found[(".gitattributes", 1)]["rule"] == "lfs-pointer"


def test_staged_gitattributes_and_text_checks_read_the_staged_blob(repo, capsys):
    repo.write(".gitattributes", "*.safetensors filter=lfs -text\n")
    repo.write("site.pth", "/usr/lib/python3/dist-packages\n")  # a .pth path file: text
    repo.add(".")
    repo.write(".gitattributes", "# nothing here\n")  # edited after staging
    repo.write("site.pth", safetensors_bytes())
    body = report(repo, capsys, "--staged")
    assert [(f["path"], f["line"]) for f in body["findings"]] == [(".gitattributes", 1)]
    assert [c["path"] for c in body["cleared"]] == ["site.pth"]
    assert "plain UTF-8 text" in body["cleared"][0]["evidence"]


def test_directory_names_match_in_any_case(repo, capsys):
    repo.write("Datasets/train.csv", "a,b\n")
    repo.write("data/CORPUS/x.txt", "x\n")
    repo.add(".")
    assert flagged(report(repo, capsys)["findings"], "forbidden-dir") == {
        "Datasets/", "data/CORPUS/"}


def test_a_real_submodule_is_listed_with_its_commit(repo, capsys, tmp_path):
    inner = Repo(tmp_path / "inner")
    inner.write("weights.safetensors", safetensors_bytes())
    inner.add(".")
    inner.commit()
    pinned = inner.git("rev-parse", "HEAD").strip()
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q",
             str(inner.root), "vendor/inner")
    repo.commit()
    findings = report(repo, capsys)["findings"]
    [sub] = [f for f in findings if f["rule"] == "submodule"]
    assert (sub["path"], sub["content"]) == ("vendor/inner", f"git:{pinned}")
    # The submodule's own files are not the superproject's: not listed, not read.
    assert not [f for f in findings if f["path"].startswith("vendor/inner/")]


def test_a_repeated_scan_reads_only_content_it_has_not_seen(repo, capsys):
    for i in range(20):
        repo.write(f"src/m{i}.py", f"x = {i}\n")
    repo.write("model.bin", safetensors_bytes())
    repo.add(".")
    repo.commit()
    first = report(repo, capsys)
    assert first["cached"] == 0
    cache = cache_file("git", Path(repo.git("rev-parse", "--absolute-git-dir").strip()))
    assert cache.is_file()
    second = report(repo, capsys)
    assert second["cached"] == second["files"] == first["files"]
    assert second["findings"] == first["findings"]
    repo.write("src/new.py", "y = 1\n")
    repo.write("src/m0.py", "x = 'changed'\n")
    repo.add(".")
    third = report(repo, capsys)
    assert third["files"] - third["cached"] == 2  # the new file and the changed one
    assert report(repo, capsys, "--no-cache")["cached"] == 0
    # A damaged cache is an empty one, never an error.
    cache.write_bytes(b"garbage")
    assert report(repo, capsys)["findings"] == first["findings"]


def test_cache_false_in_the_config_holds_though_the_listing_began_before_it_was_read(repo, capsys):
    """The CLI starts git's listing before it reads the configuration; the listing waits for
    the answer before it touches the cache, so a configuration that turns it off is obeyed."""
    repo.write("model.bin", safetensors_bytes())
    repo.add(".")
    repo.commit()
    cache = cache_file("git", Path(repo.git("rev-parse", "--absolute-git-dir").strip()))
    repo.write("receiptcore.toml", "[scan]\ncache = false\n")
    assert report(repo, capsys)["cached"] == 0
    assert not cache.exists()
    repo.write("receiptcore.toml", "[scan]\n")
    full = report(repo, capsys)
    assert report(repo, capsys)["cached"] == full["files"]
    kept = cache.read_bytes()
    repo.write("receiptcore.toml", "[scan]\ncache = false\n")
    again = report(repo, capsys)
    assert again["cached"] == 0 and again["findings"] == full["findings"]
    assert cache.read_bytes() == kept

"""The migration side by side with its anchors, in one run (issue 19's targets):

  1. `externalize DIR` of a page-cached folder of shards against `publish DIR` of the same
     folder (target: at most 1.1x its time). externalize also verifies the stored copy
     (receipt, proofs, every object by name and size) before it removes the original;
  2. `pull` of it into a clone against `fetch` of it (target: at least 0.9x fetch's throughput);
  3. DVC (PyPI `dvc`, found on PATH: it pins packages the test extra needs newer, so it lives in
     a virtual environment of its own): `dvc add` + `dvc push` to a local remote, and `dvc pull`
     of the same folder from that remote, its cache emptied; times and ratios;
  4. `externalize --plan` on a repository of FILES tracked files (one in ten Python, one Python
     file in NAMING_EVERY naming the weights) against `receiptcore scan` of it (target: at most
     1.2x), both as commands.

Each row says whether it produced the right answer (the bytes that come back are the bytes put
in, checked with hashlib; the plan finds the planted weights).

    python benches/bench_migrate.py [--shards 8] [--shard-mib 512] [--files 100000] [--naming-every 100]
                                    [--dir PATH]
                                    [--skip dvc,plan]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@invalid", "-c", "commit.gpgsign=false"]


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def best(fn, repeat: int, before=None) -> float:
    """Best of ``repeat`` timed runs; ``before`` (untimed) sets each one up."""
    times = []
    for _ in range(repeat):
        if before is not None:
            before()
        times.append(seconds(fn))
    return min(times)


def run(*cmd, cwd=None, env=None) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=cwd, env=env).stdout


def write_shards(root: Path, shards: int, size: int) -> None:
    root.mkdir(parents=True)
    block = os.urandom(16 << 20)
    for i in range(shards):
        with open(root / f"model-{i + 1:05d}-of-{shards:05d}.safetensors", "wb") as f:
            f.writelines(block[: min(len(block), size - start)] for start in range(0, size, len(block)))
            f.write(i.to_bytes(8, "little"))  # every shard its own bytes
    (root / "config.json").write_text('{"architectures": ["Bench"]}')


def digests(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with open(path, "rb") as f:
                out[path.relative_to(root).as_posix()] = hashlib.file_digest(f, "sha256").hexdigest()
    return out


def table(title: str, rows: list[tuple[str, float, bool]], size: int | None, reference: str, note: str) -> None:
    ref = {name: t for name, t, _ in rows}[reference]
    print(f"\n## {title}\n")
    print("| tool | seconds | " + ("GiB/s | " if size else "") + f"time vs {reference} | right answer |")
    print("|---|---:|" + ("---:|" if size else "") + "---:|---|")
    for name, t, ok in rows:
        rate = f" {size / t / (1 << 30):.2f} |" if size else ""
        print(f"| {name} | {t:.3f} |{rate} {t / ref:.2f}x | {'yes' if ok else 'NO'} |")
    print(f"\n{note}")


def bench_move(base: Path, shards: int, shard_size: int, skip: set[str]) -> None:
    from receiptcore.fetch import fetch
    from receiptcore.migrate.externalize import externalize
    from receiptcore.migrate.pull import pull
    from receiptcore.publish import publish

    pristine = base / "pristine" / "shards"
    write_shards(pristine, shards, shard_size)
    expected = digests(pristine)
    size = sum((pristine / p).stat().st_size for p in expected)
    os.environ["RECEIPTCORE_STATE"] = str(base / "state")
    os.environ.pop("RECEIPTCORE_HOME", None)
    repo = base / "repo"
    repo.mkdir()
    run(*GIT, "init", "-q", cwd=repo)
    homes = iter(range(1000))

    def fresh_home() -> None:  # each run stores every byte again: never a no-op
        if "RECEIPTCORE_HOME" in os.environ:  # the last run's store: disk is finite
            shutil.rmtree(os.environ["RECEIPTCORE_HOME"], ignore_errors=True)
        os.environ["RECEIPTCORE_HOME"] = str(base / f"home{next(homes)}")

    def restore() -> None:  # the folder back in the repository: hard links, same page cache
        fresh_home()
        shutil.rmtree(repo / "shards", ignore_errors=True)
        (repo / "shards.artifact.json").unlink(missing_ok=True)
        run("cp", "-al", str(pristine), str(repo / "shards"))

    result = {}
    t_publish = best(lambda: result.update(p=publish(pristine, artifact_id="shards")), 2, fresh_home)
    t_ext = best(lambda: result.update(e=externalize(repo, [str(repo / "shards")])), 2, restore)
    same = result["e"][0].artifact_commit == result["p"].artifact_commit
    table(
        f"externalize vs publish: {shards} x {shard_size >> 20} MiB shards ({size / (1 << 30):.2f} GiB)",
        [("publish DIR", t_publish, True), ("externalize DIR", t_ext, same and not (repo / "shards").exists())],
        size, "publish DIR", "target: externalize <= 1.1x publish",
    )

    out = base / "fetched"

    def clear_out() -> None:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(repo / "shards", ignore_errors=True)

    t_fetch = best(lambda: fetch("shards", out=out), 2, clear_out)
    fetched_ok = digests(out) == expected
    t_pull = best(lambda: pull(repo), 2, clear_out)
    pulled_ok = digests(repo / "shards") == expected
    rows = [("fetch ID --out DIR", t_fetch, fetched_ok), ("pull", t_pull, pulled_ok)]

    dvc = shutil.which("dvc", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if "dvc" not in skip and dvc:
        work, remote = base / "dvc-repo", base / "dvc-remote"
        work.mkdir()
        run(*GIT, "init", "-q", cwd=work)
        run(dvc, "init", "-q", cwd=work)
        run(dvc, "remote", "add", "-d", "local", str(remote), cwd=work)

        def dvc_reset() -> None:
            for gone in (work / "shards", work / ".dvc" / "cache", remote):
                shutil.rmtree(gone, ignore_errors=True)
            (work / "shards.dvc").unlink(missing_ok=True)
            run("cp", "-al", str(pristine), str(work / "shards"))

        def dvc_add_push() -> None:
            run(dvc, "add", "-q", "shards", cwd=work)
            run(dvc, "push", "-q", cwd=work)

        t_dvc_push = best(dvc_add_push, 2, dvc_reset)

        def dvc_clear() -> None:
            shutil.rmtree(work / "shards", ignore_errors=True)
            shutil.rmtree(work / ".dvc" / "cache", ignore_errors=True)

        t_dvc_pull = best(lambda: run(dvc, "pull", "-q", cwd=work), 2, dvc_clear)
        dvc_ok = digests(work / "shards") == expected
        table("moving the folder out, with DVC beside", [
            ("publish DIR", t_publish, True), ("externalize DIR", t_ext, same),
            ("dvc add + dvc push", t_dvc_push, True),
        ], size, "externalize DIR", "DVC stores and copies; it signs nothing and logs nothing")
        rows.append(("dvc pull", t_dvc_pull, dvc_ok))
    elif "dvc" not in skip:
        print("\n(dvc not found: it conflicts with the test extra's packages, so install it in a "
              "virtual environment of its own and put its bin/ on PATH to add its rows)")
    table("pull vs fetch: the folder back", rows, size, "fetch ID --out DIR",
          "target: pull's throughput >= 0.9x fetch's (time <= 1.11x)")


def bench_plan(base: Path, files: int, naming_every: int) -> None:
    repo = base / "plan-repo"
    repo.mkdir()
    run(*GIT, "init", "-q", cwd=repo)
    for i in range(files):
        folder = repo / f"pkg{i // 1000:03d}"
        if i % 1000 == 0:
            folder.mkdir()
            (folder / "__init__.py").write_text("")
        if i % 10 == 0 and (i // 10) % naming_every == 0:  # code that names the weights
            (folder / f"m{i}.py").write_text(f'PATH = "models/w{i % 3}.safetensors"\nX = {i}\n')
        elif i % 10 == 0:  # one file in ten is code
            (folder / f"m{i}.py").write_text(f'import os\n\nX = {i}\nPATH = os.path.join("data", "x")\n')
        else:
            (folder / f"f{i}.txt").write_text(f"line {i}\n")
    (repo / "models").mkdir()
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    for n in range(3):
        (repo / "models" / f"w{n}.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + bytes(16 + n))
    run(*GIT, "add", "-A", cwd=repo)
    run(*GIT, "commit", "-qm", "c", cwd=repo)
    exe = str(BIN / "receiptcore")
    env = {**os.environ, "RECEIPTCORE_HOME": str(base / "plan-home")}

    def scan() -> None:
        subprocess.run([exe, "scan", str(repo), "--format", "json"], check=False, capture_output=True, env=env)

    answer = {}

    def plan() -> None:
        answer["plan"] = run(exe, "externalize", "--plan", "--json", "--root", str(repo), env=env)

    t_scan, t_plan = best(scan, 3), best(plan, 3)
    found = json.loads(answer["plan"])
    # three flagged files in one folder with nothing else: one tree artifact
    ok = [(a["path"], a["kind"]) for a in found["artifacts"]] == [("models", "tree")]
    sites = sum(len(a["code_sites"]) for a in found["artifacts"])
    naming = len(range(0, files // 10, naming_every))
    table(f"externalize --plan vs scan: {files} tracked files ({files // 10} Python, {naming} naming "
          "the weights)", [
        ("receiptcore scan", t_scan, True), ("externalize --plan", t_plan, ok and sites == naming),
    ], None, "receiptcore scan", "target: --plan <= 1.2x scan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--shard-mib", type=int, default=512)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--naming-every", type=int, default=100,
                        help="one Python file in N names the weights (1: every one)")
    parser.add_argument("--dir", type=Path, help="where to write (default: a temporary folder)")
    parser.add_argument("--skip", default="", help="comma-separated: move, dvc, plan")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    base = Path(tempfile.mkdtemp(prefix="bench-migrate-", dir=args.dir))
    try:
        if "move" not in skip:
            bench_move(base, args.shards, args.shard_mib << 20, skip)
        if "plan" not in skip:
            bench_plan(base, args.files, args.naming_every)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()

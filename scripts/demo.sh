#!/usr/bin/env bash
# `make demo`: the whole models-side flow on the embedded defaults, offline, nothing to set up.
# The project's own docs/ is the corpus: it is chunked and embedded with the packaged MiniLM
# (published and verified first), indexed with faiss and usearch, each output published with a
# signed receipt; the index is verified with its whole lineage and answers one query, each hit
# with its provenance. Then a tampered input is refused, with the path to it.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="$repo/.venv/bin"
demo="${1:-.demo}"

mkdir -p "$demo"
cd "$demo"
rm -rf .receiptcore .state
export RECEIPTCORE_HOME="$PWD/.receiptcore" RECEIPTCORE_STATE="$PWD/.state" HF_HUB_OFFLINE=1

# Shows each command as a user would type it, then runs it.
rc() { printf '\n\033[1m$ receiptcore %s\033[0m\n' "$*"; "$bin/receiptcore" "$@"; }

rc pipeline embed "$repo/docs" --id docs --source "receiptcore docs/" \
    --license Apache-2.0 --owner receiptcore
rc pipeline index --embeddings docs.embeddings --id docs
rc verify docs.faiss --lineage
rc pipeline query docs.faiss "How do I check a receipt offline with openssl?" --top-k 3

# Tamper with the stored embeddings: the index's lineage now fails, naming the path to them.
stored="$("$bin/receiptcore" verify docs.embeddings --json |
  "$bin/python" -c 'import json, sys; print(json.load(sys.stdin)["uri"][len("file://"):])')"
chmod u+w "$stored" && printf 'X' | dd of="$stored" bs=1 seek=4096 conv=notrunc status=none
set +e
rc verify docs.faiss --lineage
echo "exit code: $? (fail-closed: a tampered input anywhere fails the chain)"

#!/usr/bin/env bash
# `make demo`: the whole receipt flow on one machine, with nothing to set up.
# A pipeline publishes a checkpoint folder (store + signed receipt + ledger); the runtime side
# verifies each shard, then a tampered copy is refused with its own exit code, and the warn mode
# (the rollback switch) reports the same failure but lets the job go on.
set -euo pipefail
bin="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin"
demo="${1:-.demo}"

"$bin/python" "$(dirname "$0")/make_demo_data.py" "$demo/checkpoint"
cd "$demo"
rm -rf .receiptcore tampered.bin
export RECEIPTCORE_HOME=.receiptcore XDG_STATE_HOME="$PWD/.state"
rm -rf "$XDG_STATE_HOME"

# Shows each command as a user would type it, then runs it.
rc() { printf '\n\033[1m$ receiptcore %s\033[0m\n' "$*"; "$bin/receiptcore" "$@"; }

rc hash checkpoint/
for shard in checkpoint/*.bin; do
  rc publish "$shard"
done
rc verify checkpoint/model-00001-of-00004.bin
rc ledger verify

cp checkpoint/model-00002-of-00004.bin tampered.bin
printf 'X' | dd of=tampered.bin bs=1 seek=4096 conv=notrunc status=none
set +e
rc verify --artifact-id model-00002-of-00004.bin tampered.bin
echo "exit code: $? (fail-closed)"
rc verify --mode warn --artifact-id model-00002-of-00004.bin tampered.bin
echo "exit code: $? (warn mode: reported, not enforced)"

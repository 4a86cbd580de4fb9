#!/usr/bin/env bash
# Rebuilds the shipped base model, data/models/base.pt (+ base.json, base.labels.txt), from the
# speech corpus with the exact settings it was made with, checking every epoch on the dev
# speakers; then sets its open-set prior (the impostor statistics of strangers recorded like the
# enrolled speakers) from the 61 dev speakers enrolled in one store, and measures it with
# `spkid eval` (data/models/base.eval.json).
# The run keeps its checkpoint outside the build tree and continues where it stopped when started
# again with --resume (it takes about 95 minutes on an idle 2-core machine).
# Usage: scripts/pretrain.sh [--resume]
#   SPKID_CORPUS     corpus root with train/, dev/ and noise/ (default: ../shared/corpus)
#   SPKID_BUILD_DIR  build directory (default: build-release)
#   SPKID_WORK_DIR   checkpoint and outputs (default: ~/.cache/spkid/pretrain)
set -euo pipefail
cd "$(dirname "$0")/.."

corpus=${SPKID_CORPUS:-../shared/corpus}
build=${SPKID_BUILD_DIR:-build-release}
work=${SPKID_WORK_DIR:-$HOME/.cache/spkid/pretrain}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSPKID_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target spkid
mkdir -p "$work"
spkid="$build/apps/spkid/spkid"

"$spkid" pretrain "$corpus/train" --noise "$corpus/noise" -o "$work/base.pt" \
  --loss aam --channels 32,64,128,256 --epochs 28 --crops-per-speaker 16 --warmup-epochs 2 \
  --threads 2 --seed 1 --dev-speakers "$corpus"/dev/so-* --dev-impostors "$corpus"/dev/ls-* "$@"

# The open-set prior: the 61 dev speakers with 30 s to enroll (so-*, ar-*, ds-*) in one store,
# each a stranger to the others.
dev61=$(mktemp -d)
trap 'rm -rf "$dev61"' EXIT
for speaker in "$corpus"/dev/so-* "$corpus"/dev/ar-* "$corpus"/dev/ds-*; do
  ln -s "$(realpath "$speaker")" "$dev61/"
done
"$spkid" -q eval "$dev61" --model "$work/base.pt" --calibrate-into "$work/base.pt" --json \
  >"$work/base.prior.json"
"$spkid" -q eval "$corpus/dev" --open-set --impostors 'ls-*' --model "$work/base.pt" --json \
  >"$work/base.eval.json"

cp "$work"/base.{pt,json,labels.txt,eval.json,prior.json} data/models/
echo "wrote data/models/base.pt, base.json, base.labels.txt, base.eval.json and base.prior.json"

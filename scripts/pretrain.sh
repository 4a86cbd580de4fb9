#!/usr/bin/env bash
# Rebuilds the shipped base model, data/models/base.pt (+ base.json, base.labels.txt), from the
# speech corpus with the exact settings it was made with, checking every epoch on the dev
# speakers, calibrates its default threshold on the dev impostors, then measures it with
# `spkid eval` (figures in data/models/base.eval.json and base.eval.folds.json).
# Interrupted runs continue where they stopped when started again with --resume.
# Usage: scripts/pretrain.sh [--resume]
#   SPKID_CORPUS     corpus root with train/, dev/ and noise/ (default: ../shared/corpus)
#   SPKID_BUILD_DIR  build directory (default: build-release)
set -euo pipefail
cd "$(dirname "$0")/.."

corpus=${SPKID_CORPUS:-../shared/corpus}
build=${SPKID_BUILD_DIR:-build-release}
work="$build/pretrain"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSPKID_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target spkid
mkdir -p "$work"
spkid="$build/apps/spkid/spkid"

"$spkid" pretrain "$corpus/train" --noise "$corpus/noise" -o "$work/base.pt" \
  --loss aam --epochs 48 --crops-per-speaker 16 --warmup-epochs 2 --threads 2 --seed 1 \
  --dev-speakers "$corpus"/dev/ar-* --dev-impostors "$corpus"/dev/ls-* "$@"

# The default threshold: where at most 2% of the dev impostors' clips are accepted. How it does
# on impostors it was not calibrated on: two folds, each calibrated on half of the impostors
# (ls-[1-4]*, ls-[5-9]*) and measured on the other half (base.eval.folds.json).
calibrate() {  # IMPOSTOR_GLOB MODEL OUT
  "$spkid" -q eval "$corpus/dev" --open-set --impostors "$1" --model "$2" \
    --threshold-rule far --target-false-accept-rate 0.02 --calibrate-into "$3" --json >/dev/null
}
measure() {  # IMPOSTOR_GLOB MODEL
  "$spkid" -q eval "$corpus/dev" --open-set --impostors "$1" --model "$2" --json
}
calibrate 'ls-[1-4]*' "$work/base.pt" "$work/fold1.pt"
calibrate 'ls-[5-9]*' "$work/base.pt" "$work/fold2.pt"
{ measure 'ls-[5-9]*' "$work/fold1.pt"; measure 'ls-[1-4]*' "$work/fold2.pt"; } |
  jq -s '{"calibrated on ls-[1-4]*, measured on ls-[5-9]*": .[0],
          "calibrated on ls-[5-9]*, measured on ls-[1-4]*": .[1]}' >"$work/base.eval.folds.json"
calibrate 'ls-*' "$work/base.pt" "$work/base.pt"
measure 'ls-*' "$work/base.pt" >"$work/base.eval.json"

cp "$work"/base.{pt,json,labels.txt,eval.json,eval.folds.json} data/models/
echo "wrote data/models/base.pt, base.json, base.labels.txt, base.eval.json and base.eval.folds.json"

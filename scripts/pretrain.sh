#!/usr/bin/env bash
# Rebuilds the shipped base model, data/models/base.pt (+ base.json, base.labels.txt), from the
# speech corpus with the exact settings it was made with, checking every epoch on the dev
# speakers; then measures it with `spkid eval` on the `ar-*` dev speakers with `ls-*` strangers
# (data/models/base.eval.json). The open-set prior threshold is spkid's default (5.5, chosen on
# the dev stores: bench/README.md, "Open-set decision"), not a figure of the model.
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

"$spkid" -q eval "$corpus/dev" --open-set --impostors 'ls-*' --model "$work/base.pt" --json \
  >"$work/base.eval.json"

cp "$work"/base.{pt,json,labels.txt,eval.json} data/models/
echo "wrote data/models/base.pt, base.json, base.labels.txt and base.eval.json"

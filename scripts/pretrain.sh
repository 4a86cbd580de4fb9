#!/usr/bin/env bash
# Rebuilds the shipped base model, data/models/base.pt (+ base.json, base.labels.txt), from the
# speech corpus with the exact settings it was made with, checking every epoch on the dev
# speakers, then measures it with `spkid eval` (figures in data/models/base.eval.json).
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

# The dev figures shipped beside the model. Its threshold is spkid's default (3 cohort standard
# deviations), not one tuned on these dev speakers, so these are figures on unseen data.
"$spkid" eval "$corpus/dev" --open-set --impostors 'ls-*' --model "$work/base.pt" --json \
  >"$work/base.eval.json"

cp "$work/base.pt" "$work/base.json" "$work/base.labels.txt" "$work/base.eval.json" data/models/
echo "wrote data/models/base.pt, base.json, base.labels.txt and base.eval.json"

#!/usr/bin/env bash
# Rebuilds the shipped base model, data/models/base.pt (+ base.json, base.labels.txt), from the
# speech corpus with the exact settings it was made with, checking every epoch on the dev
# speakers. Interrupted runs continue where they stopped when started again with --resume.
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

# Idle OpenMP threads sleep instead of spinning: on a busy 2-core machine spinning halved the
# training speed. LibTorch reads this when it loads, so it is set here rather than in spkid.
export OMP_WAIT_POLICY=PASSIVE

"$build/apps/spkid/spkid" pretrain "$corpus/train" --noise "$corpus/noise" -o "$work/base.pt" \
  --loss aam --epochs 12 --crops-per-speaker 16 --warmup-epochs 1 --threads 2 --seed 1 \
  --dev-speakers "$corpus"/dev/ar-* --dev-impostors "$corpus"/dev/ls-* "$@"

cp "$work/base.pt" "$work/base.json" "$work/base.labels.txt" data/models/
echo "wrote data/models/base.pt, base.json and base.labels.txt"

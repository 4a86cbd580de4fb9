#!/usr/bin/env bash
# Whole-process speed of `spkid features` against torchaudio's Kaldi fbank doing the same reads,
# resampling and features in one Python process (bench/torchaudio_features.py), on the same files.
#
# Usage: bench/features_vs_torchaudio.sh [SPKID_BINARY]   (default: build/apps/spkid/spkid)
# Environment: NUM_FILES (200), SECONDS_PER_FILE (4), SAMPLE_RATE_HZ (44100), REPEATS (3, the best
# time counts), SPKID_ARGS (extra `spkid features` options, e.g. "--resample-quality sinc-fastest"),
# PYTHON (/usr/bin/python3: Debian's, with python3-torchaudio).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
spkid=$(realpath "${1:-$repo/build/apps/spkid/spkid}")
python=${PYTHON:-/usr/bin/python3}
num_files=${NUM_FILES:-200}
seconds_per_file=${SECONDS_PER_FILE:-4}
rate_hz=${SAMPLE_RATE_HZ:-44100}
repeats=${REPEATS:-3}
read -r -a spkid_args <<<"${SPKID_ARGS:-}"

[[ -x $spkid ]] || { echo "no spkid program at $spkid: build it, or pass its path" >&2; exit 2; }
"$python" -c 'import torchaudio' 2>/dev/null ||
  { echo "$python cannot import torchaudio: apt-get install python3-torchaudio" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/wav"

# Speech-like 16-bit mono WAVs: a gliding harmonic voice with syllable gaps, plus a little noise.
"$python" - "$work/wav" "$num_files" "$seconds_per_file" "$rate_hz" <<'PY'
import sys
import wave

import numpy as np

out_dir, count, seconds, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
t = np.arange(int(seconds * rate)) / rate
for i in range(count):
    rng = np.random.default_rng(i)
    pitch = rng.uniform(90, 250) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 15))
    syllables = (np.sin(2 * np.pi * 3 * t) > -0.3).astype(float)
    x = 0.2 * voice * syllables + 0.01 * rng.standard_normal(t.size)
    pcm = np.clip(x * 32767, -32768, 32767).astype("<i2")
    with wave.open(f"{out_dir}/utt{i:04d}.wav", "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(pcm.tobytes())
PY

# Best wall-clock seconds of `repeats` runs of a command that writes into $work/out.
best_seconds() {
  local best=""
  for ((run = 0; run < repeats; ++run)); do
    rm -rf "$work/out"
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null
    end=$(date +%s.%N)
    best=$(echo "$start $end $best" | awk '{t = $2 - $1; if ($3 == "" || t < $3) print t; else print $3}')
  done
  local written
  written=$(find "$work/out" -name '*.npy' | wc -l)
  [[ $written -eq $num_files ]] || { echo "$1 wrote $written of $num_files files" >&2; exit 1; }
  echo "$best"
}

files=("$work"/wav/*.wav)
spkid_s=$(best_seconds "$spkid" -q features --no-vad "${spkid_args[@]}" "${files[@]}" -o "$work/out")
mv "$work/out" "$work/out_spkid"
spkid_1job_s=$(best_seconds "$spkid" -q features --no-vad -j 1 "${spkid_args[@]}" "${files[@]}" \
  -o "$work/out")
torch_s=$(best_seconds "$python" "$repo/bench/torchaudio_features.py" -o "$work/out" "${files[@]}")

# Same job, so the features must agree up to the two resamplers' differences.
agreement=$("$python" - "$work/out_spkid" "$work/out" <<'PY'
import glob
import os
import sys

import numpy as np

diffs = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.npy"))):
    a = np.load(path)
    b = np.load(os.path.join(sys.argv[2], os.path.basename(path)))
    n = min(len(a), len(b))
    assert abs(len(a) - len(b)) <= 1 and a.shape[1] == b.shape[1], (path, a.shape, b.shape)
    diffs.append(np.abs(a[:n] - b[:n]).mean())
print(f"{np.mean(diffs):.4f}")
PY
)

audio_s=$(awk -v n="$num_files" -v s="$seconds_per_file" 'BEGIN { print n * s }')
echo "$num_files files x $seconds_per_file s at $rate_hz Hz ($audio_s s of audio), best of $repeats runs;" \
  "spkid features --no-vad ${SPKID_ARGS:-}"
awk -v a="$spkid_s" -v b="$spkid_1job_s" -v t="$torch_s" -v audio="$audio_s" 'BEGIN {
  printf "spkid features (default jobs): %7.3f s  %7.0fx real time\n", a, audio / a
  printf "spkid features -j 1:           %7.3f s  %7.0fx real time\n", b, audio / b
  printf "torchaudio kaldi.fbank:        %7.3f s  %7.0fx real time\n", t, audio / t
  printf "ratio torchaudio / spkid: %.1fx (default jobs), %.1fx (-j 1)\n", t / a, t / b
}'
echo "mean |spkid - torchaudio| per feature: $agreement (log-Mel, mean-normalised)"

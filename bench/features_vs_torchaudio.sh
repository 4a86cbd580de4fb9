#!/usr/bin/env bash
# Whole-process speed of `spkid features` against torchaudio's Kaldi fbank doing the same reads,
# resampling and features in one Python process (bench/torchaudio_features.py), on the same files.
# Reports wall-clock time, CPU time (user + system, less disturbed by other load) and peak memory.
# At SAMPLE_RATE_HZ=16000 neither side resamples: what remains is start-up, decoding and features.
#
# Usage: bench/features_vs_torchaudio.sh [SPKID_BINARY]   (default: build/apps/spkid/spkid)
# Environment: NUM_FILES (200), SECONDS_PER_FILE (4), SAMPLE_RATE_HZ (of the files: 44100),
# REPEATS (3; the least times count), SPKID_ARGS (extra `spkid features` options, e.g.
# "--resample-quality sinc-medium"), COMPARE_QUALITY (e.g. sinc-best: also report how far the
# features are from spkid's made with only `--resample-quality COMPARE_QUALITY`, so give SPKID_ARGS
# that choose nothing but the resampler), PYTHON (/usr/bin/python3: Debian's, with
# python3-torchaudio).
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
[[ -x /usr/bin/time ]] || { echo "no /usr/bin/time: apt-get install time" >&2; exit 2; }
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

# "WALL CPU RSS_MB" of `repeats` runs of a command that writes into $work/out: the least
# wall-clock and CPU seconds, and the largest peak resident memory.
measure() {
  : >"$work/times"
  for ((run = 0; run < repeats; ++run)); do
    rm -rf "$work/out"
    /usr/bin/time -f '%e %U %S %M' -a -o "$work/times" "$@" >/dev/null
  done
  local written
  written=$(find "$work/out" -name '*.npy' | wc -l)
  [[ $written -eq $num_files ]] || { echo "$1 wrote $written of $num_files files" >&2; exit 1; }
  awk 'NR == 1 || $1 < wall { wall = $1 } NR == 1 || $2 + $3 < cpu { cpu = $2 + $3 }
       $4 > rss { rss = $4 } END { printf "%.3f %.3f %.0f\n", wall, cpu, rss / 1024 }' "$work/times"
}

files=("$work"/wav/*.wav)
spkid_run=$(measure "$spkid" -q features --no-vad "${spkid_args[@]}" "${files[@]}" -o "$work/out")
mv "$work/out" "$work/out_spkid"
spkid_1job_run=$(measure "$spkid" -q features --no-vad -j 1 "${spkid_args[@]}" "${files[@]}" \
  -o "$work/out")
torch_run=$(measure "$python" "$repo/bench/torchaudio_features.py" -o "$work/out" "${files[@]}")

# Mean |a - b| per feature between the .npy files of two directories (same names; the frame
# counts may differ by one with the resampler).
mean_abs_diff() {
  "$python" - "$1" "$2" <<'PY'
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
}

# Same job, so the features must agree up to the two resamplers' differences.
agreement=$(mean_abs_diff "$work/out_spkid" "$work/out")
if [[ -n ${COMPARE_QUALITY:-} ]]; then
  "$spkid" -q features --no-vad --resample-quality "$COMPARE_QUALITY" "${files[@]}" \
    -o "$work/out_compare" >/dev/null
  compare_agreement=$(mean_abs_diff "$work/out_spkid" "$work/out_compare")
fi

audio_s=$(awk -v n="$num_files" -v s="$seconds_per_file" 'BEGIN { print n * s }')
echo "$num_files files x $seconds_per_file s at $rate_hz Hz ($audio_s s of audio), best of" \
  "$repeats runs (peak memory: the largest); spkid features --no-vad ${SPKID_ARGS:-}"
echo "$spkid_run $spkid_1job_run $torch_run" | awk -v audio="$audio_s" '{
  printf "%-31s %8s %12s %8s %8s\n", "", "wall", "x real time", "CPU", "peak"
  row("spkid features (default jobs)", $1, $2, $3)
  row("spkid features -j 1", $4, $5, $6)
  row("torchaudio kaldi.fbank", $7, $8, $9)
  printf "ratio torchaudio / spkid (wall): %.1fx (default jobs), %.1fx (-j 1)\n", $7 / $1, $7 / $4
}
function row(name, wall, cpu, rss_mb) {
  printf "%-31s %7.3fs %11.0fx %7.3fs %5d MB\n", name, wall, audio / wall, cpu, rss_mb
}'
echo "mean |spkid - torchaudio| per feature: $agreement (log-Mel, mean-normalised)"
if [[ -n ${COMPARE_QUALITY:-} ]]; then
  echo "mean |spkid - spkid with $COMPARE_QUALITY| per feature: $compare_agreement"
fi

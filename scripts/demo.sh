#!/usr/bin/env bash
# The README's first command: installs what is missing, builds spkid (Release, in build-release/),
# and runs the audio front end on a clip it makes with espeak-ng: info, spectrogram, features.
# Usage: scripts/demo.sh   (SPKID_BUILD_DIR overrides the build directory)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build=${SPKID_BUILD_DIR:-build-release}
echo "== building spkid (Release) in $build/"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSPKID_BUILD_TESTS=OFF >/dev/null
# The compiler's chatter goes to a log, shown only when the build fails.
if ! cmake --build "$build" -j "$(nproc)" --target spkid >"$build/demo-build.log" 2>&1; then
  cat "$build/demo-build.log" >&2
  exit 1
fi
spkid="$build/apps/spkid/spkid"
"$spkid" --version

# Outputs stay after the demo so the picture and features can be looked at.
work=$(mktemp -d "${TMPDIR:-/tmp}/spkid-demo.XXXXXX")
clip="$work/demo.wav"
espeak-ng -v en-us -s 150 -w "$clip" \
  "Speaker identification answers one question: who is speaking? \
   It turns a few seconds of a voice into a picture of its spectrum, and compares it with the \
   voices it knows."

echo
echo "== spkid info $clip"
"$spkid" info "$clip"

echo
echo "== spkid spectrogram"
"$spkid" -q spectrogram "$clip" -o "$work/demo.png"
"$spkid" -q spectrogram "$clip" --waveform -o "$work/demo-waveform.png"
echo "log-Mel spectrogram: $work/demo.png"
echo "waveform:            $work/demo-waveform.png"

echo
echo "== spkid features"
"$spkid" -q features --json "$clip" -o "$work/features"
# Debian's numpy lives in the system Python, which may not be the first python3 on the PATH.
for python in python3 /usr/bin/python3; do
  if "$python" -c 'import numpy' 2>/dev/null; then
    "$python" -c 'import sys, numpy; a = numpy.load(sys.argv[1]);
print(f"numpy.load: shape {a.shape} (frames x Mel bands), dtype {a.dtype}")' \
      "$work/features/demo.npy"
    break
  fi
done

echo
echo "Outputs are in $work"

#!/usr/bin/env bash
# Fuzzes the decode and feature path (tests/fuzz) with libFuzzer, ASan and UBSan for SECONDS
# (default 300). Usage: scripts/fuzz.sh [SECONDS] [libFuzzer flags...]
#   SPKID_FUZZ_BUILD_DIR  the clang build (default /tmp/spkid-fuzz-build)
#   SPKID_FUZZ_DIR        corpus, crashes and logs, outside the repository
#                         (default ~/.cache/spkid/fuzz); the corpus grows from run to run
#   SPKID_FUZZ_JOBS       build jobs (default: the number of cores)
# Exits non-zero on a crash, a sanitizer report or a violated invariant, naming the input;
# `decode_fuzzer FILE` replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true
build=${SPKID_FUZZ_BUILD_DIR:-/tmp/spkid-fuzz-build}
dir=${SPKID_FUZZ_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/spkid/fuzz}
jobs=${SPKID_FUZZ_JOBS:-$(nproc)}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DSPKID_BUILD_TESTS=OFF -DSPKID_BUILD_FUZZERS=ON >/dev/null
nice cmake --build "$build" -j "$jobs" --target decode_fuzzer fuzz_seeds

# The seeds are made afresh each run; what the fuzzer finds goes to the corpus (the first folder).
mkdir -p "$dir/corpus" "$dir/seeds" "$dir/crashes"
"$build/tests/fuzz/fuzz_seeds" "$dir/seeds"
log=$dir/fuzz-$(date +%Y%m%d-%H%M%S).log
# libsndfile 1.2.0 leaks libvorbis' header state when an Ogg file ends after the Vorbis
# identification header: a leak in a dependency, not in spkid.
printf 'leak:vorbis_info_init\n' >"$dir/lsan.supp"
# What the mutations cannot guess by coverage alone: the containers' tags, and float samples at
# full scale, near the decoder's limit (1e6), at the float limit and beyond (little-endian, and
# big-endian for AIFF and CAF).
cat >"$dir/decode.dict" <<'DICT'
"RIFF"
"RF64"
"WAVE"
"fmt "
"data"
"fact"
"LIST"
"FORM"
"AIFF"
"AIFC"
"COMM"
"SSND"
"fLaC"
"OggS"
"OpusHead"
"OpusTags"
"\x01vorbis"
"\x03vorbis"
"\x05vorbis"
"caff"
"desc"
"ID3"
"Xing"
"Info"
"LAME"
"TAG"
"\x00\x00\x80\x3f"
"\x00\xb3\x71\x49"
"\x00\x24\x74\x49"
"\xff\xff\x7f\x7f"
"\x00\x00\x80\x7f"
"\x00\x00\xc0\x7f"
"\x49\x71\xb3\x00"
"\x49\x74\x24\x00"
"\x7f\x7f\xff\xff"
DICT
echo "fuzzing for $seconds s; log: $log"
status=0
# 256 KiB holds every seed; 30 s for one input is a hang, not slow decoding.
LSAN_OPTIONS=suppressions=$dir/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 \
  nice "$build/tests/fuzz/decode_fuzzer" -max_total_time="$seconds" -max_len=262144 \
  -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 -dict="$dir/decode.dict" \
  -artifact_prefix="$dir/crashes/" "$@" "$dir/corpus" "$dir/seeds" >"$log" 2>&1 || status=$?
# The start, the last progress line and the final statistics.
grep -E '^#[0-9]+:?[[:space:]]+INITED' "$log" || true
grep -E '^#[0-9]+:?[[:space:]]' "$log" | grep -v INITED | tail -n 1 || true
grep -E '^stat::' "$log" || true
if [ "$status" -ne 0 ]; then
  tail -n 40 "$log"
  input=$(grep -o "Test unit written to .*" "$log" | sed 's/Test unit written to //' || true)
  echo "fuzz.sh: the fuzzer failed (exit $status); input: ${input:-none written, see $log}" >&2
  echo "fuzz.sh: replay with $build/tests/fuzz/decode_fuzzer ${input:-FILE}" >&2
  exit "$status"
fi
echo "no crash; corpus: $(find "$dir/corpus" -type f | wc -l) inputs in $dir/corpus"

#!/usr/bin/env bash
# Whole-command speed of spkid on real speech from the corpus: identify over many 3 s clips in
# one process, enroll of one 30 s file, train of 10 speakers, and pretrain's seconds per epoch.
# For each it prints the exact command, then the least wall-clock time and the least CPU time
# (user + system, which other load disturbs less) of REPEATS runs, the largest peak memory, and
# the load average before and after. The audio is cut with sox into a temporary folder, deleted
# on exit; nothing is written into the repository.
#
# Usage: bench/pipeline.sh [SPKID_BINARY [MEASUREMENT...]]
#   SPKID_BINARY  default: build-bench/apps/spkid/spkid
#   MEASUREMENT   identify, enroll, train, pretrain (default: all four, in that order)
# Environment: SPKID_CORPUS (corpus root: ../shared/corpus), REPEATS (3), NUM_CLIPS (1000),
#   PRETRAIN_EPOCHS (2), SPKID_BASE_MODEL (default: the repository's data/models/base.pt),
#   WORK (an empty folder to prepare the audio and stores in and keep, e.g. to profile the
#   commands printed, which name it $WORK; default: a temporary folder, deleted on exit).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
spkid=$(realpath "${1:-$repo/build-bench/apps/spkid/spkid}")
shift || true
measurements=(identify enroll train pretrain)
(($# == 0)) || measurements=("$@")
corpus=$(realpath "${SPKID_CORPUS:-$repo/../shared/corpus}")
repeats=${REPEATS:-3}
num_clips=${NUM_CLIPS:-1000}
pretrain_epochs=${PRETRAIN_EPOCHS:-2}
export SPKID_BASE_MODEL=${SPKID_BASE_MODEL:-$repo/data/models/base.pt}
readonly clip_seconds=3 enroll_seconds=30 train_speakers=10

[[ -x $spkid ]] || { echo "no spkid program at $spkid: build it, or pass its path" >&2; exit 2; }
for tool in /usr/bin/time sox soxi jq; do
  command -v "$tool" >/dev/null || { echo "no $tool: apt-get install time sox jq" >&2; exit 2; }
done
[[ -d $corpus/dev && -d $corpus/train ]] ||
  { echo "no corpus at $corpus: set SPKID_CORPUS to the folder with dev/ and train/" >&2; exit 2; }

if [[ -n ${WORK:-} ]]; then
  mkdir -p "$WORK"
  work=$(realpath "$WORK")
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi

# ---- audio ---------------------------------------------------------------------------------

# A speaker folder's files in name order, as one FLAC stream.
concatenate_speaker() {
  local speaker_dir=$1 output=$2
  local files=("$speaker_dir"/*.flac)
  sox "${files[@]}" "$output"
}

# The first $enroll_seconds of a speaker folder (files in name order), the corpus's enrollment.
enrollment_file() {
  local speaker_dir=$1 output=$2
  concatenate_speaker "$speaker_dir" "$work/whole.flac"
  sox "$work/whole.flac" "$output" trim 0 "$enroll_seconds"
}

# $num_clips clips of $clip_seconds from the dev speakers' speech that is not enrolled (dev/ar-*
# after their first $enroll_seconds, dev/ls-* whole), into $work/clips, listed with their speaker
# in $work/clips.txt. The dev speech is too short for that many clips one after the other, so
# consecutive clips overlap: they start every HOP seconds, HOP chosen to give just enough.
make_identify_clips() {
  # Made already (in a kept $WORK).
  [[ -f $work/clips.txt && $(wc -l <"$work/clips.txt") -eq $num_clips ]] && return
  mkdir -p "$work/streams" "$work/clips"
  local speaker_dir speaker
  for speaker_dir in "$corpus"/dev/ar-* "$corpus"/dev/ls-*; do
    speaker=$(basename "$speaker_dir")
    concatenate_speaker "$speaker_dir" "$work/whole.flac"
    if [[ $speaker == ar-* ]]; then
      sox "$work/whole.flac" "$work/streams/$speaker.flac" trim "$enroll_seconds"
    else
      mv "$work/whole.flac" "$work/streams/$speaker.flac"
    fi
    echo "$speaker $(soxi -D "$work/streams/$speaker.flac")"
  done >"$work/stream_seconds.txt"
  # "speaker offset" for every clip: the largest hop that gives num_clips, then every k-th.
  awk -v n="$num_clips" -v len="$clip_seconds" '
    { speaker[NR] = $1; seconds[NR] = $2 }
    function count(hop,   i, c) {
      for (i = 1; i <= NR; ++i) if (seconds[i] >= len) c += int((seconds[i] - len) / hop) + 1
      return c
    }
    END {
      hop = len
      while (hop > 0.05 && count(hop) < n) hop -= 0.05
      total = count(hop)
      if (total < n) { print "too little dev speech for " n " clips" > "/dev/stderr"; exit 1 }
      for (i = 1; i <= NR; ++i) {
        for (offset = 0; offset + len <= seconds[i]; offset += hop) {
          clip[c++] = speaker[i] " " offset
        }
      }
      for (k = 0; k < n; ++k) print clip[int(k * total / n)]
    }' "$work/stream_seconds.txt" >"$work/clip_offsets.txt"
  local index=0 offset
  while read -r speaker offset; do
    local name
    name=$(printf 'clip%04d.flac' "$index")
    sox "$work/streams/$speaker.flac" "$work/clips/$name" trim "$offset" "$clip_seconds"
    echo "$speaker clips/$name"
    index=$((index + 1))
  done <"$work/clip_offsets.txt" >"$work/clips.txt"
}

# ---- timing --------------------------------------------------------------------------------

load_average() { cut -d ' ' -f 1-3 /proc/loadavg; }

# Each line of standard input with the microseconds since the epoch at which it arrived.
stamp_lines() {
  local line
  while IFS= read -r line; do echo "${EPOCHREALTIME/./} $line"; done
}

# timed PREPARE COMMAND...: runs PREPARE (a function; untimed) then COMMAND, REPEATS times. The
# last run leaves COMMAND's standard output in $work/stdout, its standard error in $work/stderr,
# each line stamped with its time since the run started (stamp_lines). Prints the command, then
# puts "WALL CPU PEAK_MB" (least wall and CPU seconds, largest peak memory) into $work/result. A
# run may exit 1: some inputs failed, which the caller reports.
timed() {
  local prepare=$1
  shift
  echo "\$ $(printf '%q ' "$@" | sed "s|$work|\$WORK|g; s|$corpus|\$CORPUS|g")"
  echo "  load average before: $(load_average)"
  : >"$work/times"
  local run status start_us
  for ((run = 0; run < repeats; ++run)); do
    "$prepare"
    start_us=${EPOCHREALTIME/./}
    if { /usr/bin/time -f '%e %U %S %M' -a -o "$work/times" "$@" 2>&1 >"$work/stdout"; } |
      stamp_lines >"$work/stamped_stderr"; then
      status=0
    else
      status=${PIPESTATUS[0]}
    fi
    awk -v start="$start_us" '{ $1 = sprintf("%.1f", ($1 - start) / 1e6); print }' \
      "$work/stamped_stderr" >"$work/stderr"
    if ((status > 1)); then
      sed 's/^/  /' "$work/stderr" >&2
      echo "the command failed (exit status $status)" >&2
      exit 1
    fi
  done
  echo "  load average after:  $(load_average)"
  # /usr/bin/time adds a line when the status is not 0.
  awk '/^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+$/ {
         if (n == 0 || $1 < wall) wall = $1
         if (n == 0 || $2 + $3 < cpu) cpu = $2 + $3
         if ($4 > rss) rss = $4
         ++n
       }
       END { printf "%.2f %.2f %.0f\n", wall, cpu, rss / 1024 }' "$work/times" >"$work/result"
}

# "wall W s, CPU C s, peak P MB" from $work/result.
print_result() {
  read -r wall cpu peak_mb <"$work/result"
  echo "  best of $repeats: wall $wall s, CPU $cpu s, peak memory $peak_mb MB"
}

# ---- the measurements ----------------------------------------------------------------------

no_preparation() { :; }

# The store identify and enroll use: the 6 dev ar-* speakers with their first 30 s, and the base
# model registered (by a first identify, which also embeds their clips).
make_dev_store() {
  [[ -d $work/dev_store ]] && return
  mkdir -p "$work/enroll"
  local speaker_dir speaker
  for speaker_dir in "$corpus"/dev/ar-*; do
    speaker=$(basename "$speaker_dir")
    enrollment_file "$speaker_dir" "$work/enroll/$speaker.flac"
    echo "$speaker $speaker.flac"
  done >"$work/enroll/list.txt"
  "$spkid" -q --store "$work/dev_store" enroll --list "$work/enroll/list.txt" >/dev/null
  "$spkid" -q --store "$work/dev_store" identify "$work/enroll/$speaker.flac" >/dev/null
}

# The same store after `spkid train`: the classifier names, the base model scores (two forward
# passes per clip).
make_trained_dev_store() {
  make_dev_store
  [[ -d $work/trained_store ]] && return
  cp -a "$work/dev_store" "$work/trained_store"
  "$spkid" -q --store "$work/trained_store" train >/dev/null
  local enrolled=("$work"/enroll/*.flac)  # a first identify embeds the clips by both models
  "$spkid" -q --store "$work/trained_store" identify "${enrolled[0]}" >/dev/null
}

# 1. identify over $num_clips clips in one process, with the default jobs and with -j 1, before
# any train; then with the default jobs after train.
measure_identify() {
  local spkid=$1
  echo "== identify: $num_clips clips of $clip_seconds s from corpus/dev (ar-* and ls-*), 6" \
    "speakers enrolled"
  make_dev_store
  make_trained_dev_store
  make_identify_clips
  local audio_seconds=$((num_clips * clip_seconds)) run store jobs
  for run in "dev_store:" "dev_store:-j 1" "trained_store:"; do
    store=${run%%:*} jobs=${run#*:}
    [[ $store == trained_store ]] && echo "  -- after train"
    # shellcheck disable=SC2086  # $jobs is empty or two words
    timed no_preparation "$spkid" -q --store "$work/$store" identify --json $jobs \
      --list "$work/clips.txt"
    print_result
    awk -v clips="$num_clips" -v audio="$audio_seconds" '{
      printf "  %.1f clips/s, real-time factor %.4f (wall / seconds of audio), %.4f of CPU\n",
             clips / $1, $1 / audio, $2 / audio }' "$work/result"
    # Each line holds the file's answer and, from --list, the speaker expected.
    jq -rs '"  \(length) answers, \(map(select(.error)) | length) failed, " +
            "\(map(select(.speaker == .expected)) | length) as labelled " +
            "(dev ls-* speakers are not enrolled: expected unknown)"' "$work/stdout"
    grep -o 'error: .*' "$work/stderr" | sed 's/^/  /' || true
  done
}

# 2. enroll of one 30 s file into a store with the base model: the first 30 s of a train/ar-*
# speaker, as a new speaker. Each run starts from a copy of the same store.
fresh_enroll_store() {
  rm -rf "$work/enroll_store"
  cp -a "$work/dev_store" "$work/enroll_store"
}

measure_enroll() {
  local spkid=$1
  echo "== enroll: one file of $enroll_seconds s into a store with the base model (6 speakers)"
  make_dev_store
  local speaker_dirs=("$corpus"/train/ar-*)
  enrollment_file "${speaker_dirs[0]}" "$work/newcomer.flac"
  timed fresh_enroll_store "$spkid" -q --store "$work/enroll_store" enroll --name newcomer \
    "$work/newcomer.flac"
  print_result
}

# 3. train of $train_speakers train/ar-* speakers enrolled with their first 30 s each (features
# only: the store has no model before its first train). Each run starts from a copy.
fresh_train_store() {
  rm -rf "$work/train_store"
  cp -a "$work/train_store_enrolled" "$work/train_store"
}

measure_train() {
  local spkid=$1
  echo "== train: $train_speakers speakers of corpus/train/ar-* with $enroll_seconds s each"
  mkdir -p "$work/train_enroll"
  local speaker_dirs=("$corpus"/train/ar-*) speaker_dir speaker
  for speaker_dir in "${speaker_dirs[@]:0:train_speakers}"; do
    speaker=$(basename "$speaker_dir")
    enrollment_file "$speaker_dir" "$work/train_enroll/$speaker.flac"
    echo "$speaker $speaker.flac"
  done >"$work/train_enroll/list.txt"
  "$spkid" -q --store "$work/train_store_enrolled" enroll --list "$work/train_enroll/list.txt" \
    >/dev/null
  timed fresh_train_store "$spkid" -q --store "$work/train_store" train --json
  print_result
  jq -r '"  \(.epochs) epochs (best \(.best_epoch)), held-out accuracy \(.val_accuracy * 100 |
          floor)%, train reports \(.seconds * 10 | round / 10) s"' "$work/stdout"
}

# 4. pretrain for $pretrain_epochs epochs with scripts/pretrain.sh's settings, each run from
# scratch. Besides the whole command: each epoch's training seconds as the model records them,
# and the time each log line came, which tells the time to the first epoch (start-up, the corpus
# in memory) and each epoch's whole time (training, the dev check and the checkpoint).
fresh_pretrain_output() { rm -rf "$work/pretrain" && mkdir -p "$work/pretrain"; }

measure_pretrain() {
  local spkid=$1
  echo "== pretrain: $pretrain_epochs epochs on corpus/train with scripts/pretrain.sh's settings"
  # pretrain.sh warms up for 2 epochs, at most all of them.
  local warmup_epochs=$((pretrain_epochs < 2 ? pretrain_epochs : 2))
  timed fresh_pretrain_output "$spkid" pretrain "$corpus/train" --noise "$corpus/noise" \
    -o "$work/pretrain/base.pt" --loss aam --epochs "$pretrain_epochs" --crops-per-speaker 16 \
    --warmup-epochs "$warmup_epochs" --threads 2 --seed 1 --dev-speakers "$corpus"/dev/ar-* \
    --dev-impostors "$corpus"/dev/ls-*
  print_result
  jq -r '.provenance.history[] | "  epoch \(.epoch): \(.seconds * 10 | round / 10) s of training"' \
    "$work/pretrain/base.json"
  echo "  the last run's log, seconds since it started:"
  grep -E ' (loaded|[0-9]+ steps of|epoch [0-9]+/)' "$work/stderr" | cut -c 1-100 | sed 's/^/    /'
}

# The BLAS behind LibTorch (Debian's libblas.so.3: the reference BLAS or OpenBLAS) changes the
# figures several times over, so it is printed with them.
libtorch_blas() {
  local dir program
  dir=$(dirname "$spkid")
  for program in "$dir/spkid-model" "$dir/../libexec/spkid/spkid-model"; do
    [[ -x $program ]] || continue
    realpath "$(ldd "$program" | awk '$1 ~ /^libblas/ { print $3 }')"
    return
  done
  echo "unknown (no spkid-model beside $spkid)"
}

echo "spkid: $spkid; base model: $SPKID_BASE_MODEL; corpus: $corpus; \$WORK: $work"
echo "LibTorch's BLAS: $(libtorch_blas)"
for measurement in "${measurements[@]}"; do
  case $measurement in
    identify | enroll | train | pretrain) "measure_$measurement" "$spkid" ;;
    *) echo "unknown measurement $measurement: identify, enroll, train or pretrain" >&2; exit 2 ;;
  esac
  echo
done

#!/usr/bin/env bash
# The dev stores of the open-set measurements (bench/README.md, "Open-set decision"): makes
# folders of symlinks to the dev speakers, runs `spkid eval --open-set --json --scores` on each,
# with and without the pretraining speakers of the same source in the AS-norm cohort, and leaves
# one summary and one scores file per store in OUT (replay them with bench/open_set_replay.py).
#
# Usage: bench/open_set_stores.sh SPKID CORPUS_DEV OUT [extra spkid eval flags...]
#   e.g. bench/open_set_stores.sh build-release/apps/spkid/spkid ../shared/corpus/dev /tmp/os
#
#   so    25 so-* enrolled (a-*), the other 25 strangers (b-*); "so-x": no so-* in the cohort
#   ar    3 ar-* enrolled, 3 strangers; "ar-x": no ar-* in the cohort
#   ds    2 ds-* enrolled, 3 strangers; "ds-x": no ds-* in the cohort
#   arls  the 6 ar-* enrolled, the ls-* speakers strangers
#   dev61 every so-*, ar-* and ds-* speaker in one store, closed set
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,15p "$0" >&2; exit 2; }
spkid=$1 dev=$(realpath "$2") out=$3
shift 3
mkdir -p "$out"

# split NAME PATTERN ENROLLED: the first ENROLLED matching speakers as a-*, the rest as b-*.
split() {
  local dir=$out/stores/$1 i=0
  rm -rf "$dir" && mkdir -p "$dir"
  for speaker in "$dev"/$2; do
    if [ $i -lt "$3" ]; then ln -s "$speaker" "$dir/a-${speaker##*/}"
    else ln -s "$speaker" "$dir/b-${speaker##*/}"; fi
    i=$((i + 1))
  done
}
# gather NAME PATTERN...: the matching speakers under their own names.
gather() {
  local dir=$out/stores/$1
  rm -rf "$dir" && mkdir -p "$dir"
  shift
  for pattern in "$@"; do
    for speaker in "$dev"/$pattern; do ln -s "$speaker" "$dir/"; done
  done
}

split so 'so-*' 25
split ar 'ar-*' 3
split ds 'ds-*' 2
gather arls 'ar-*' 'ls-*'
gather dev61 'so-*' 'ar-*' 'ds-*'

run() {  # run NAME STORE eval-flags...
  local name=$1 store=$2
  shift 2
  echo "open_set_stores: $name" >&2
  "$spkid" -q eval "$out/stores/$store" --json "$@" >"$out/$name.json"
}
for source in so ar ds; do
  run "$source" "$source" --open-set --impostors 'b-*' --scores "$out/$source.scores.json" "$@"
  run "$source-x" "$source" --open-set --impostors 'b-*' --cohort-exclude "$source-*" \
    --scores "$out/$source-x.scores.json" "$@"
done
run arls arls --open-set --impostors 'ls-*' --scores "$out/arls.scores.json" "$@"
run dev61 dev61 "$@"

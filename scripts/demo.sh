#!/usr/bin/env bash
# The README's first command: installs what is missing, builds spkid (Release, in build-release/),
# and runs the main job on the shipped base model. Three voices made with flite are enrolled in a
# new store and trained; each is then identified from a sentence it never enrolled, and a fourth
# voice, never enrolled, must come back unknown. Ends with PASS, or FAIL and exit status 1.
# Usage: scripts/demo.sh   (SPKID_BUILD_DIR overrides the build directory, SPKID_BASE_MODEL the
# base model)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/demo_voices.sh
export LC_ALL=C  # scores printed with a decimal point whatever the user's locale

scripts/install-deps.sh
build=${SPKID_BUILD_DIR:-build-release}
echo "== building spkid (Release) in $build/"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSPKID_BUILD_TESTS=OFF >/dev/null
# The compiler's chatter goes to a log, shown only when the build fails.
if ! cmake --build "$build" -j "$(nproc)" --target spkid >"$build/demo-build.log" 2>&1; then
  cat "$build/demo-build.log" >&2
  exit 1
fi
spkid=$(realpath "$build/apps/spkid/spkid")
"$spkid" --version
SECONDS=0
trap 'echo "FAIL: the step above went wrong (${SECONDS} s)"' ERR
# The demo runs in its own folder below, where a relative path would no longer lead to the model.
[ -z "${SPKID_BASE_MODEL:-}" ] || SPKID_BASE_MODEL=$(realpath -m "$SPKID_BASE_MODEL")

# Everything the demo makes, the store included, stays in a new folder to be listened to and
# tried further; the user's own store is never touched. Paths below are relative to it.
work=$(mktemp -d "${TMPDIR:-/tmp}/spkid-demo.XXXXXX")
cd "$work"
mkdir enroll fresh

echo
echo "== making four voices with flite in $work"
declare -A expected  # fresh recording -> the answer it must get
for i in "${!demo_enrolled_voices[@]}"; do
  read -r name voice <<<"${demo_enrolled_voices[$i]}"
  demo_say "$voice" "${demo_enrollment_texts[$i]}" "enroll/$name.wav"
  demo_say "$voice" "$demo_fresh_sentence" "fresh/$name.wav"
  expected[fresh/$name.wav]=$name
  printf '%-7s flite voice %-5s %.0f s to enroll\n' "$name" "$voice" "$(soxi -D "enroll/$name.wav")"
done
read -r name voice <<<"$demo_unknown_voice"
demo_say "$voice" "$demo_fresh_sentence" "fresh/$name.wav"
expected[fresh/$name.wav]=unknown
printf '%-7s flite voice %-5s never enrolled\n' "$name" "$voice"

echo
echo "== spkid enroll (each file is named after its speaker)"
"$spkid" --store store enroll enroll/*.wav

echo
echo "== spkid list"
"$spkid" --store store list

echo
echo "== spkid train (fine-tunes a classifier of the three voices from the base model)"
"$spkid" -q --store store train

echo
echo "== spkid identify: every voice says a sentence it never enrolled"
echo "\"${demo_fresh_sentence//$'\n'/ }\""
# identify exits non-zero when a file fails; that file's line carries the error.
answers=$("$spkid" -q --store store identify --json --top 4 fresh/*.wav) || true
printf '%-8s %-9s %-9s %6s  %s\n' voice expected answer score "scores, best first"
wrong=0
# One line per file: file, answer, score, error, then each candidate's speaker and score; split on
# the unit separator, as tabs would merge the empty fields.
while IFS=$'\x1f' read -r -a fields; do
  voice=$(basename "${fields[0]}" .wav)
  want=${expected[${fields[0]}]}
  if [ -n "${fields[3]}" ]; then
    printf '%-8s %-9s error: %s\n' "$voice" "$want" "${fields[3]}"
    wrong=$((wrong + 1))
    continue
  fi
  scores=""
  for ((i = 4; i < ${#fields[@]}; i += 2)); do
    scores+=$(printf '%s%s %.2f' "${scores:+, }" "${fields[i]}" "${fields[i + 1]}")
  done
  verdict=right
  [ "${fields[1]}" = "$want" ] || { verdict=WRONG; wrong=$((wrong + 1)); }
  printf '%-8s %-9s %-9s %6.2f  %-38s %s\n' "$voice" "$want" "${fields[1]}" "${fields[2]}" \
    "$scores" "$verdict"
done < <(jq -r '[.file, .speaker // "", .score // 0, .error // "", (.top[]? | .speaker, .score)]
                | map(tostring) | join("\u001f")' <<<"$answers")
answered=$(jq -s length <<<"$answers")
[ "$answered" -eq "${#expected[@]}" ] || wrong=$((wrong + ${#expected[@]} - answered))

echo
echo "The voices and the store are in $work; try:"
echo "  cd $work && $spkid --store store identify --top 3 fresh/*.wav"
if [ "$wrong" -eq 0 ]; then
  echo "PASS: the three enrolled voices were named and the fourth was unknown (${SECONDS} s)"
else
  echo "FAIL: $wrong of ${#expected[@]} answers were wrong (${SECONDS} s)"
  exit 1
fi

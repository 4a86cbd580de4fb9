# shellcheck shell=bash
# Shared by enroll_dataset.sh and identify_dataset.sh (sourced, not run): runs one spkid batch
# command over a dataset folder (one sub-folder per speaker) or a `name path` list, and writes its
# results as JSON lines, or as CSV when the output file name ends in .csv.

# The spkid program: $SPKID, else spkid on the PATH, else a build in this repository.
spkid_program() {
  if [ -n "${SPKID:-}" ]; then echo "$SPKID"; return; fi
  if command -v spkid >/dev/null 2>&1; then command -v spkid; return; fi
  local repo
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  for build in "${SPKID_BUILD_DIR:-build-release}" build; do
    if [ -x "$repo/$build/apps/spkid/spkid" ]; then echo "$repo/$build/apps/spkid/spkid"; return; fi
  done
  echo "spkid not found: build it (scripts/demo.sh), put it on the PATH, or set SPKID" >&2
  return 1
}

# JSON lines on stdin -> CSV on stdout with the given columns. A dotted column reads a nested
# field ("error.message"); lists are joined with ';' (objects by their "code" or "speaker");
# "expected" is the speaker the dataset labels the file with (its folder, or its list line).
json_lines_to_csv() {
  local columns=$1 dataset=$2
  python3 -c '
import csv, json, os, sys

columns = sys.argv[1].split(",")
dataset = sys.argv[2]
labels = {}
if os.path.isfile(dataset):
    base = os.path.dirname(dataset)
    with open(dataset) as listing:
        for line in listing:
            parts = line.strip().split(None, 1)
            if len(parts) == 2 and not parts[0].startswith("#"):
                path = parts[1] if os.path.isabs(parts[1]) else os.path.join(base, parts[1])
                labels[os.path.normpath(path)] = parts[0]

def expected(path):
    if os.path.isdir(dataset):
        return os.path.relpath(path, dataset).split(os.sep)[0]
    return labels.get(os.path.normpath(path), "")

def cell(record, column):
    if column == "expected":
        return expected(record.get("file", ""))
    value = record
    for key in column.split("."):
        value = value.get(key, "") if isinstance(value, dict) else ""
    if isinstance(value, list):
        return ";".join(str(v.get("code", v.get("speaker", v))) if isinstance(v, dict) else str(v)
                        for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value

writer = csv.writer(sys.stdout, lineterminator="\n")
writer.writerow(columns)
for line in sys.stdin:
    if line.strip():
        record = json.loads(line)
        writer.writerow([cell(record, c) for c in columns])
' "$columns" "$dataset"
}

# run_dataset_batch COMMAND CSV_COLUMNS "$@": parses the wrapper's command line
#   DATASET_DIR|LIST_FILE [-o OUT.csv|OUT.jsonl] [-s STORE] [-- more COMMAND options]
# and runs `spkid [--store STORE] COMMAND --json --dir|--list INPUT ...`. Returns spkid's status.
# Call it as `run_dataset_batch ... || exit $?`.
run_dataset_batch() {
  local command=$1 columns=$2
  shift 2
  local input="" output="" store=""
  while [ $# -gt 0 ]; do
    case $1 in
      -o) output=$2; shift 2 ;;
      -s|--store) store=$2; shift 2 ;;
      --) shift; break ;;
      -h|--help) sed -n '2,/^set -/p' "$0" | sed -e '/^set -/d' -e 's/^# \{0,1\}//'; return 0 ;;
      -*) echo "$(basename "$0"): unknown option $1; see --help" >&2; return 2 ;;
      *) [ -z "$input" ] || { echo "$(basename "$0"): one dataset at a time" >&2; return 2; }
         input=$1; shift ;;
    esac
  done
  if [ -z "$input" ]; then echo "$(basename "$0"): give a dataset folder or list; see --help" >&2; return 2; fi
  local kind=--list
  [ -d "$input" ] && kind=--dir
  local spkid
  spkid=$(spkid_program) || return 1
  local global=()
  [ -z "$store" ] || global=(--store "$store")

  # Called in a `|| exit` context, so errors are handled here rather than by set -e.
  local batch=("$spkid" "${global[@]}" "$command" --json "$kind" "$input" "$@")
  if [ -z "$output" ]; then
    "${batch[@]}"
  elif [[ $output == *.csv ]]; then
    "${batch[@]}" | json_lines_to_csv "$columns" "$input" >"$output"
    local statuses=("${PIPESTATUS[@]}")
    [ "${statuses[1]}" -eq 0 ] || return 1
    return "${statuses[0]}"
  else
    "${batch[@]}" >"$output"
  fi
}

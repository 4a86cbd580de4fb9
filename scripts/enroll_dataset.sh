#!/usr/bin/env bash
# Enrolls a whole dataset into the spkid store in one process on all cores, one result per
# recording: JSON lines (to standard output or OUT), or CSV when OUT ends in .csv.
#
# Usage: scripts/enroll_dataset.sh DATASET_DIR|LIST_FILE [-o OUT] [-s STORE] [-- enroll options]
#   DATASET_DIR  one sub-folder of recordings per speaker, named after them
#   LIST_FILE    `name path` lines (relative paths start at the list's folder)
#   -s STORE     the store (default: $SPKID_HOME, else ~/.local/share/spkid)
#   SPKID        the spkid program (default: spkid on the PATH, else this repository's build)
# Exit status is spkid's: 0 all enrolled, 1 some recordings failed (see the error column).
#
# Example: scripts/enroll_dataset.sh corpus/dev -s voices -o enrolled.csv -- --jobs 2
set -euo pipefail
source "$(dirname "$0")/lib/dataset_batch.sh"

run_dataset_batch enroll \
  "file,speaker,status,speech_seconds,clips,speaker_total.speech_seconds,warnings,error.message" \
  "$@" || exit $?

#!/usr/bin/env bash
# Identifies every recording of a dataset against the spkid store in one process on all cores,
# one result per recording: JSON lines (to standard output or OUT), or CSV when OUT ends in .csv,
# with the speaker the dataset expects beside the one found.
#
# Usage: scripts/identify_dataset.sh DATASET_DIR|LIST_FILE [-o OUT] [-s STORE] [-- identify options]
#   DATASET_DIR  one sub-folder of recordings per speaker (the expected answer)
#   LIST_FILE    `name path` lines (relative paths start at the list's folder)
#   -s STORE     the store (default: $SPKID_HOME, else ~/.local/share/spkid)
#   SPKID        the spkid program (default: spkid on the PATH, else this repository's build)
# It runs `spkid --store STORE identify --json --dir|--list INPUT`, whose lines carry
# file, speaker, known, score and top.
#
# Example: scripts/identify_dataset.sh tests/ -s voices -o answers.csv
set -euo pipefail
source "$(dirname "$0")/lib/dataset_batch.sh"

run_dataset_batch identify "file,expected,speaker,known,score,top,error.message" "$@" || exit $?

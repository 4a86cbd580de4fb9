#!/usr/bin/env bash
# Installs the Debian packages spkid needs to build, test and run. Idempotent: quiet and quick
# when everything is already there.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libsndfile1-dev libmpg123-dev libsoxr-dev libsamplerate0-dev libfftw3-dev libtorch-dev libcli11-dev
  libspdlog-dev libgtest-dev libbenchmark-dev libsqlite3-dev libssl-dev libcairo2-dev libicu-dev libasound2-dev
  nlohmann-json3-dev
  libopenblas0-openmp  # LibTorch's BLAS: Debian's reference BLAS made train 1.6x slower
  python3-torchaudio python3-numpy espeak-ng sox
  flite jq  # scripts/demo.sh: its voices, and reading identify --json
  time  # bench/listen_bench.py: peak memory of spkid listen
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

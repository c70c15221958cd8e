#!/usr/bin/env bash
# Sets up what is missing, builds, and runs every test (ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cd build
ctest --output-on-failure -j"$(nproc)" "$@"

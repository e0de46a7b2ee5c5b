#!/usr/bin/env bash
# Sets everything up, builds, and runs every test (GoogleTest + lit) via CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"

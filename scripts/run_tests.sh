#!/usr/bin/env bash
# Sets up (packages, build) and runs the whole test suite through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cd "${ENGINE_BUILD_DIR:-build}"
ctest --output-on-failure -j"$(nproc)" --timeout 600

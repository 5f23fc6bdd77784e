#!/usr/bin/env bash
# Sets up (packages, build) and runs the whole test suite through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup_python.sh  # TensorBoard and MLflow, to read back what the engine writes
cd "${ENGINE_BUILD_DIR:-build}"
ctest --output-on-failure -j"$(nproc)" --timeout 600

#!/usr/bin/env bash
# The main job on the bundled default data: set up and build, turn Debian's fortune files into
# an AG News layout corpus (32 topics), prepare it into HDF5 shards, and train + evaluate with
# `mpirun -np 2` once engine_train exists.
# Output: data/fortunes/ (CSV), data/fortunes-ds/ (dataset), runs/default/ (training run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=${ENGINE_BUILD_DIR:-build}

/usr/bin/python3 scripts/fortunes_to_csv.py --out data/fortunes
"$build/engine/engine_prep" --train data/fortunes/train.csv --valid data/fortunes/valid.csv \
  --test data/fortunes/test.csv --classes data/fortunes/classes.txt \
  --out data/fortunes-ds --force --threads "$(nproc)"

if [ ! -x "$build/engine/engine_train" ]; then
  echo "[main] engine_train is not built yet (CPU training engine, issue 3): stopping after prep."
  echo "[main] the dataset is in data/fortunes-ds (see manifest.json, vocab.txt)."
  exit 0
fi

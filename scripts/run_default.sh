#!/usr/bin/env bash
# The main job on the bundled default data: set up and build, turn Debian's fortune files into
# an AG News layout corpus (32 topics), prepare it into HDF5 shards, train an LSTM classifier
# data-parallel on 2 MPI ranks (16 examples per rank per step) and evaluate it on the test split.
# Output: data/fortunes/ (CSV), data/fortunes-ds/ (dataset), runs/default/ (training run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build=${ENGINE_BUILD_DIR:-build}

/usr/bin/python3 scripts/fortunes_to_csv.py --out data/fortunes
"$build/engine/engine_prep" --train data/fortunes/train.csv --valid data/fortunes/valid.csv \
  --test data/fortunes/test.csv --classes data/fortunes/classes.txt \
  --out data/fortunes-ds --force --threads "$(nproc)"

rm -rf runs/default
mpi_flags=()
[ "$(id -u)" -eq 0 ] && mpi_flags+=(--allow-run-as-root)  # containers and CI run as root
mpirun -np 2 "${mpi_flags[@]}" "$build/engine/engine_train" --config config/hyperparameters.yaml \
  --data data/fortunes-ds --out runs/default --batch-size 16
"$build/engine/engine_eval" --checkpoint runs/default/best.h5 --data data/fortunes-ds --split test \
  --out runs/default/eval
echo "[main] done: run in runs/default (report.html, plots/, curves.csv, test_report.json, eval/report.json)"

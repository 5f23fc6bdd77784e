#!/usr/bin/env bash
# Everything worth checking on a GPU machine, in one command, after a build (either README
# command): the devices, every GPU test, the default corpus trained and evaluated on the GPU in
# fp32, fp16 and tf32 with our kernels and with cuDNN (test accuracy next to the CPU's), and the
# GPU step benchmark against PyTorch on the same device at batch 64 and 512.
# Usage: bash scripts/gpu_check.sh [--quick]   (--quick: one benchmark rep, batch 64 only)
# Output: the log on stdout; runs under runs/gpu_check/. Exits 2 where no GPU can be used.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${ENGINE_BUILD_DIR:-build}
reps=3 batches="64 512"
[ "${1:-}" = --quick ] && reps=1 batches=64

"$build/engine/engine_cuda_info" || exit 2
tests=(-R 'Cuda|Cudnn|nccl')
if ! command -v mpiexec > /dev/null; then  # the 2-rank NCCL test is launched by MPI
  echo "no mpiexec here: the NCCL test is left out"
  tests+=(-E nccl)
fi
ctest --test-dir "$build" "${tests[@]}" --output-on-failure --timeout 300

[ -f data/fortunes/train.csv ] || /usr/bin/python3 scripts/fortunes_to_csv.py --out data/fortunes
"$build/engine/engine_prep" --train data/fortunes/train.csv --valid data/fortunes/valid.csv \
  --test data/fortunes/test.csv --classes data/fortunes/classes.txt \
  --out runs/gpu_check/data --force --threads "$(nproc)" > /dev/null
for run in "cpu fp32 custom" "cuda fp32 custom" "cuda fp32 cudnn" "cuda fp16 custom" "cuda fp16 cudnn" \
  "cuda tf32 cudnn"; do
  read -r device precision impl <<< "$run"
  dir=runs/gpu_check/${device}_${precision}_${impl}
  rm -rf "$dir"
  flags=(--device "$device")
  [ "$device" = cuda ] && flags+=(--precision "$precision" --rnn-impl "$impl")
  "$build/engine/engine_train" --config config/hyperparameters.yaml --data runs/gpu_check/data \
    --out "$dir" "${flags[@]}" > "$dir.log" 2>&1 || { cat "$dir.log"; exit 1; }
  trained=$(printf '%.4f' "$(grep -o '"accuracy": *[0-9.]*' "$dir/test_report.json" | grep -o '[0-9.]*$')")
  evaluated=$("$build/engine/engine_eval" --checkpoint "$dir/best.h5" --data runs/gpu_check/data \
    --device "$device" | grep -o '^accuracy [0-9.]*' | grep -o '[0-9.]*$')
  echo "[$device $precision $impl] test accuracy $trained (engine_eval: $evaluated);" \
    "$(grep -o 'samples_per_s=[0-9.]*' "$dir.log" | tail -1)"
done

if python3 -c 'import torch, sys; sys.exit(not torch.cuda.is_available())' 2> /dev/null; then
  # shellcheck disable=SC2086
  python3 bench/gpu_bench.py --reps "$reps" --batch-sizes $batches --precisions fp32 fp16 tf32
else  # no CUDA PyTorch here to compare with: ours alone
  for batch in $batches; do
    for precision in fp32 fp16 tf32; do
      "$build/bench/bench_gpu" --rnn-impl custom cudnn --batch-size "$batch" --precision "$precision"
    done
  done
fi

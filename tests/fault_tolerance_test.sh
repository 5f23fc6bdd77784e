#!/usr/bin/env bash
# A rank killed with SIGKILL mid-epoch: the job must end, non-zero, within 30 s with no rank left
# behind; relaunching with --resume auto must finish with exactly the parameters (and per-step
# losses) of a run that never failed. Usage: fault_tolerance_test.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
base=$(mktemp -d /tmp/engine_fault_XXXXXX)
trap 'pkill -9 -f "$base/" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$base"' EXIT
fail() { echo "FAILED: $*"; tail -n 20 "$base"/*.log 2>/dev/null; exit 1; }
# Waits (up to 30 s) until the run in $1 has logged at least $2 optimizer steps.
wait_for_steps() {
  for _ in $(seq 600); do
    [ -f "$1/steps.jsonl" ] && [ "$(wc -l <"$1/steps.jsonl")" -ge "$2" ] && return 0
    sleep 0.05
  done
  fail "$1 did not reach $2 steps"
}

mpi=(mpirun -np 2 --oversubscribe --mca btl self,vader,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
"$build/engine/engine_synth_csv" --out "$base/train.csv" --rows 3000 --classes 3 --seed 9 --vocab-words 500 2>/dev/null
"$build/engine/engine_prep" --train "$base/train.csv" --out "$base/ds" --valid-fraction 0.1 --quiet || fail "prep"
loud=("$build/engine/engine_train" --data "$base/ds" --embed 16 --hidden 32 --batch-size 16 --epochs 6
      --dropout 0.1 --checkpoint-every 25 --keep-last 2 --resume auto)
train=("${loud[@]}" --quiet)

"${mpi[@]}" "${train[@]}" --out "$base/reference" >"$base/reference.log" 2>&1 || fail "reference run"

"${mpi[@]}" "${train[@]}" --out "$base/run" >"$base/killed.log" 2>&1 &
launcher=$!
wait_for_steps "$base/run" 120
victim=$(pgrep -f "engine_train --data $base/ds" | grep -v "^$launcher$" | tail -n 1)
[ -n "$victim" ] || fail "no rank to kill"
killed_at=$(date +%s.%N)
kill -9 "$victim"
for _ in $(seq 300); do kill -0 "$launcher" 2>/dev/null || break; sleep 0.1; done
kill -0 "$launcher" 2>/dev/null && fail "the job still runs 30 s after a rank was killed"
wait "$launcher"
status=$?
seconds=$(echo "$(date +%s.%N) - $killed_at" | bc)
[ "$status" -ne 0 ] || fail "the job exited 0 after losing a rank"
pgrep -f "engine_train --data $base/ds.*--out $base/run" >/dev/null && fail "ranks left running"
echo "ok: killed rank $victim; the job exited with $status after ${seconds}s, no rank left"

"${mpi[@]}" "${train[@]}" --out "$base/run" >"$base/resumed.log" 2>&1 || fail "resumed run"
cmp -s "$base/reference/steps.jsonl" "$base/run/steps.jsonl" || fail "per-step losses differ from the uninterrupted run"
last() { ls "$1"/checkpoints/ckpt-*.h5 | sort | tail -n 1; }
/usr/bin/python3 - "$(last "$base/reference")" "$(last "$base/run")" <<'PY' || fail "final parameters differ"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
for name in a["model"]:
    assert np.array_equal(a["model"][name][:], b["model"][name][:]), name
PY
echo "ok: resumed with --resume auto; per-step losses and final parameters equal the uninterrupted run"

# Resume on another number of ranks: stopped on 2 ranks (SIGUSR1, as Slurm's warning), finished on 3.
"${mpi[@]}" "${train[@]}" --out "$base/reshaped" >"$base/two.log" 2>&1 &
launcher=$!
wait_for_steps "$base/reshaped" 100
kill -USR1 "$launcher"
wait "$launcher"
[ $? -eq 75 ] || fail "the 2-rank run did not stop with 75 on SIGUSR1"
three=("${mpi[@]}")
three[2]=3
"${three[@]}" "${loud[@]}" --out "$base/reshaped" --log-all-ranks >"$base/three.log" 2>&1 || fail "resuming on 3 ranks"
grep -q "continuing epoch" "$base/three.log" || fail "the 3-rank run did not remap the epoch"
grep -q "valid loss" "$base/reshaped/logs/rank-2.log" || fail "rank 2 kept no log of its own (--log-all-ranks)"
/usr/bin/python3 - "$base/reshaped/steps.jsonl" <<'PY' || fail "steps after the reshape are not one unbroken sequence"
import json, sys
steps = [json.loads(line)["step"] for line in open(sys.argv[1])]
assert steps == list(range(1, len(steps) + 1)), steps[:5]
PY
echo "ok: a 2-rank run stopped by SIGUSR1 finished on 3 ranks"
echo "1 passed, 0 failed"

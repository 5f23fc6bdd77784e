#!/usr/bin/env bash
# engine_tune for real, on the default corpus (Debian's fortunes) under mpirun -np 2 (2 groups of
# 1 rank): an ASHA tune finishes and its best.yaml trains; a tune killed mid-way resumes without
# re-running finished trials; a PBT tune exploits. Usage: tune_e2e_test.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$(dirname "$0")/.." && pwd)
base=$(mktemp -d /tmp/engine_tune_XXXXXX)
trap 'pkill -9 -f "$base/" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$base"' EXIT
fail() { echo "FAILED: $*"; tail -n 30 "$base"/*.log 2>/dev/null; exit 1; }
json() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$3"; }

mpi=(mpirun -np 2 --oversubscribe --mca btl self,vader,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
/usr/bin/python3 "$source_dir/scripts/fortunes_to_csv.py" --out "$base/csv" >/dev/null || fail "corpus"
"$build/engine/engine_prep" --train "$base/csv/train.csv" --valid "$base/csv/valid.csv" \
  --test "$base/csv/test.csv" --classes "$base/csv/classes.txt" --out "$base/ds" --quiet || fail "prep"
cat >"$base/space.yaml" <<'YAML'
lr: {loguniform: [1.0e-3, 1.0e-2]}
hidden: {choice: [16, 24]}
cell: {choice: [lstm, gru]}
YAML
tune=("$build/engine/engine_tune" --data "$base/ds" --space "$base/space.yaml" --embed 16
      --batch-size 64 --metric valid_accuracy --mode max)

# 1. ASHA over TPE proposals; the best configuration trains.
"${mpi[@]}" "${tune[@]}" --out "$base/asha" --searcher tpe --scheduler asha --num-samples 4 \
  --epochs 3 --reduction-factor 2 >"$base/asha.log" 2>&1 || fail "asha tune"
[ "$(json x 'len(d["trials"])' "$base/asha/results.json")" = 4 ] || fail "asha: not 4 trials"
best=$(json x 'd["best_trial"]' "$base/asha/results.json")
[ "$best" != None ] || fail "no best trial"
grep -q '^cell: ' "$base/asha/best.yaml" || fail "best.yaml lacks the searched cell"
"$build/engine/engine_train" --config "$base/asha/best.yaml" --out "$base/best-run" --epochs 1 \
  --quiet >"$base/best.log" 2>&1 || fail "best.yaml does not train"
[ -f "$base/best-run/best.h5" ] || fail "the best configuration's run has no model"
[ -s "$base/asha/plots/tune.svg" ] || fail "no tune plot"
echo "asha: best trial $best"

# 2. Killed mid-way, then the same command again: finished trials stay finished.
"${mpi[@]}" "${tune[@]}" --out "$base/resume" --searcher random --num-samples 4 --epochs 6 \
  >"$base/killed.log" 2>&1 &
launcher=$!
for _ in $(seq 600); do
  finished=$(grep -c '"status": "finished"' "$base/resume/tune_state.json" 2>/dev/null)
  [ "${finished:-0}" -ge 1 ] && break
  sleep 0.1
done
[ "${finished:-0}" -ge 1 ] || fail "no trial finished before the kill"
kill -9 "$launcher"
pkill -9 -f "$base/resume" 2>/dev/null
wait "$launcher" 2>/dev/null
sleep 0.5
before=$(json x '" ".join(str(t["id"]) + ":" + str(len(t["scores"])) for t in d["trials"] if t["status"] == "finished")' "$base/resume/tune_state.json")
"${mpi[@]}" "${tune[@]}" --out "$base/resume" --searcher random --num-samples 4 --epochs 6 \
  >"$base/resumed.log" 2>&1 || fail "resumed tune"
grep -q "resuming" "$base/resumed.log" || fail "the second run did not resume"
[ "$(json x 'len(d["trials"])' "$base/resume/results.json")" = 4 ] || fail "resume: not 4 trials"
[ "$(json x 'all(t["status"] == "finished" for t in d["trials"])' "$base/resume/results.json")" = True ] || fail "resume: unfinished trials"
for entry in $before; do  # each finished trial was not trained again: no new epochs reported
  id=${entry%%:*}
  scores=$(json x "len(d['trials'][$id]['scores'])" "$base/resume/tune_state.json")
  [ "$scores" = "${entry##*:}" ] || fail "finished trial $id was run again"
  grep -q "trial-000$id starts" "$base/resumed.log" && fail "finished trial $id started again"
done
echo "resume: finished before the kill: $before"

# 3. PBT: the worse trials continue from better ones' checkpoints with perturbed values.
cat >"$base/pbt.yaml" <<'YAML'
lr: {loguniform: [1.0e-4, 3.0e-2]}
batch_size: {choice: [32, 64, 128]}
YAML
"${mpi[@]}" "${tune[@]}" --space "$base/pbt.yaml" --out "$base/pbt" --searcher random \
  --scheduler pbt --num-samples 4 --epochs 3 --hidden 16 --perturbation-interval 1 \
  >"$base/pbt.log" 2>&1 || fail "pbt tune"
exploits=$(json x 'sum(len(t["exploits"]) for t in d["trials"])' "$base/pbt/results.json")
[ "$exploits" -ge 1 ] || fail "PBT exploited nothing"
[ "$(json x 'all(t["epochs"] == 3 for t in d["trials"])' "$base/pbt/results.json")" = True ] || fail "PBT trials did not all train 3 epochs"
echo "pbt: $exploits exploit(s)"
echo PASSED

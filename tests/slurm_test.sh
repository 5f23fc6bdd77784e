#!/usr/bin/env bash
# The project's Slurm scripts against a real single-node Slurm on localhost: munge, slurmctld
# and slurmd run in the foreground under this test's control, configured by a slurm.conf written
# here, and are stopped at the end whatever happens. Checks: a job of cluster/slurm/train.sbatch
# trains with 2 ranks and leaves a checkpoint and a test report; then a pre-emption signal makes
# the job checkpoint, requeue itself and finish the run with --resume auto, continuing exactly
# where it stopped; and engine_tune runs as a job array whose tasks share the tune's state file.
# Needs root (the daemons) and Debian's slurm-wlm and munge; skips otherwise.
# Usage: slurm_test.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$(dirname "$0")/.." && pwd)
skip() { echo "skipped: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "the Slurm daemons need root"
for tool in slurmctld slurmd munged mungekey sbatch squeue scontrol; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (bash scripts/setup.sh installs slurm-wlm and munge)"
done

base=$(mktemp -d /tmp/engine_slurm_XXXXXX)
export SLURM_CONF=$base/slurm.conf
cleanup() {
  scontrol shutdown >/dev/null 2>&1
  for pid in ${slurmctld_pid:-} ${slurmd_pid:-}; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  munged --stop --socket="$base/munge/munge.socket" >/dev/null 2>&1
  rm -rf "$base"
}
trap cleanup EXIT
fail() {
  echo "FAILED: $*"
  for f in "$base"/*.out "$base"/log/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }; done
  exit 1
}

# --- a one-node cluster in $base ---
mkdir -p "$base"/{munge,state,spool,log,run}
chmod 711 "$base/munge"
mungekey --create --keyfile="$base/munge/munge.key" --force >/dev/null 2>&1 || fail "mungekey"
chmod 600 "$base/munge/munge.key"
munged --key-file="$base/munge/munge.key" --socket="$base/munge/munge.socket" --pid-file="$base/munge/munged.pid" \
  --log-file="$base/munge/munged.log" --seed-file="$base/munge/munged.seed" --force || fail "munged"
cat >"$SLURM_CONF" <<CONF
ClusterName=enginetest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$base/munge/munge.socket
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$base/state
SlurmdSpoolDir=$base/spool
SlurmctldPidFile=$base/run/slurmctld.pid
SlurmdPidFile=$base/run/slurmd.pid
SlurmctldLogFile=$base/log/slurmctld.log
SlurmdLogFile=$base/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
MailProg=/bin/true
InactiveLimit=0
SlurmdParameters=config_overrides
MinJobAge=300
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -D -c >"$base/log/slurmctld.stdout" 2>&1 &
slurmctld_pid=$!
slurmd -D -N localhost >"$base/log/slurmd.stdout" 2>&1 &
slurmd_pid=$!
for _ in $(seq 100); do [ "$(sinfo -h -n localhost -o %t 2>/dev/null)" = idle ] && break; sleep 0.1; done
[ "$(sinfo -h -n localhost -o %t)" = idle ] || fail "the node did not come up"

# --- a small dataset ---
"$build/engine/engine_synth_csv" --out "$base/train.csv" --rows 3000 --classes 3 --seed 5 --vocab-words 500 2>/dev/null
"$build/engine/engine_prep" --train "$base/train.csv" --out "$base/ds" --valid-fraction 0.1 --quiet || fail "prep"
export ENGINE_BIN=$build/engine
script=$source_dir/cluster/slurm/train.sbatch
model=(--embed 16 --hidden 32 --batch-size 16 --quiet)

# --- 1. a job trains with 2 ranks ---
sbatch --wait --ntasks=2 --output="$base/job1.out" "$script" --data "$base/ds" --out "$base/run1" --epochs 1 "${model[@]}" \
  >/dev/null || fail "job 1 did not succeed"
grep -q "2 ranks" "$base/job1.out" || fail "job 1 did not run 2 ranks"
ls "$base/run1/checkpoints"/ckpt-*.h5 >/dev/null 2>&1 || fail "job 1 left no checkpoint"
[ -f "$base/run1/best.h5" ] || fail "job 1 left no best.h5"
echo "ok: job 1 trained with 2 ranks"

# --- 2. pre-emption: checkpoint, requeue, resume ---
job=$(sbatch --parsable --ntasks=2 --output="$base/job2.out" "$script" --data "$base/ds" --out "$base/run2" --epochs 60 \
  "${model[@]}") || fail "sbatch job 2"
for _ in $(seq 600); do
  [ -f "$base/run2/steps.jsonl" ] && [ "$(wc -l <"$base/run2/steps.jsonl")" -ge 150 ] && break
  sleep 0.1
done
[ "$(wc -l <"$base/run2/steps.jsonl" 2>/dev/null || echo 0)" -ge 150 ] || fail "job 2 did not start training"
scancel --batch --signal=USR1 "$job" || fail "scancel --signal"
for _ in $(seq 300); do grep -q "requeueing" "$base/job2.out" 2>/dev/null && break; sleep 0.1; done
grep -q "requeueing" "$base/job2.out" || fail "job 2 did not checkpoint and requeue"
# A requeued job waits 120 s before it may start again (BeginTime): once it is back in the
# queue, let it start in 3 s (a restart within the second of the requeue finds its new job
# credential counted as revoked: "Job credential revoked").
for _ in $(seq 300); do [ "$(squeue -h -j "$job" -o %T 2>/dev/null)" = PENDING ] && break; sleep 0.1; done
[ "$(squeue -h -j "$job" -o %T)" = PENDING ] || fail "job 2 did not go back to the queue"
scontrol update jobid="$job" starttime=now+3 || fail "scontrol update starttime"

for _ in $(seq 1200); do squeue -h -j "$job" 2>/dev/null | grep -q . || break; sleep 0.1; done
state=$(scontrol show job "$job" | sed -n 's/.*JobState=\([A-Z]*\).*/\1/p')
[ "$state" = COMPLETED ] || fail "job 2 ended $state"
grep -q "restart 1" "$base/job2.out" || fail "job 2 did not restart"
grep -q "resuming from" "$base/job2.out" || true  # (rank 0 prints it unless --quiet)
steps=$(wc -l <"$base/run2/steps.jsonl")
python3 - "$base/run2/steps.jsonl" <<'PY' || fail "steps after the resume are not one unbroken sequence"
import json, sys
steps = [json.loads(line)["step"] for line in open(sys.argv[1])]
assert steps == list(range(1, len(steps) + 1)), steps[:5]
PY
last=$(ls "$base/run2/checkpoints" | sort | tail -n 1)
echo "ok: job 2 was pre-empted, requeued and resumed; $steps steps in one unbroken sequence, last checkpoint $last"

# --- 3. engine_tune as a job array: 4 tasks, 2 at a time, sharing the locked state file ---
cat >"$base/space.yaml" <<'YAML'
lr: {loguniform: [1.0e-3, 1.0e-2]}
hidden: {choice: [16, 32]}
YAML
sbatch --wait --array=0-3%2 --output="$base/tune-%a.out" "$source_dir/cluster/slurm/tune_array.sbatch" \
  --data "$base/ds" --out "$base/tune" --space "$base/space.yaml" --searcher tpe --scheduler asha \
  --num-samples 4 --epochs 2 --reduction-factor 2 --metric valid_accuracy --embed 16 --batch-size 32 \
  >/dev/null || fail "the tune array did not succeed"
python3 - "$base/tune/results.json" <<'PY' || fail "the array's results"
import json, sys
r = json.load(open(sys.argv[1]))
ids = sorted(t["trial"] for t in r["trials"])
assert ids == [0, 1, 2, 3], ids
assert all(t["status"] in ("finished", "stopped") for t in r["trials"]), r["trials"]
lrs = {t["params"]["lr"] for t in r["trials"]}
assert len(lrs) == 4, "trials repeated a configuration"
assert r["best_trial"] is not None
PY
[ -f "$base/tune/best.yaml" ] || fail "the array left no best.yaml"
echo "ok: a 4-task job array ran 4 distinct trials through the shared state"
echo "1 passed, 0 failed"

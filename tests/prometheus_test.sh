#!/usr/bin/env bash
# A real Prometheus (Debian's `prometheus`, started here on loopback) scrapes engine_train's
# --metrics-port endpoint during a 2-rank run and answers queries through its HTTP API: the
# step counter, per-rank figures gathered to rank 0, the phase split. promtool lints the
# exposition. Then SIGTERM stops the run with a checkpoint. Usage: prometheus_test.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
command -v prometheus >/dev/null || { echo "SKIPPED: prometheus is not installed (bash scripts/setup.sh installs it)"; exit 77; }
base=$(mktemp -d /tmp/engine_prometheus_XXXXXX)
prometheus_pid=""
trap '[ -n "$prometheus_pid" ] && kill "$prometheus_pid" 2>/dev/null; pkill -9 -f "$base/" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$base"' EXIT
fail() { echo "FAILED: $*"; tail -n 20 "$base"/*.log 2>/dev/null; exit 1; }
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# The query's result vector (JSON), via Prometheus' HTTP API.
query() { curl -sf --data-urlencode "query=$1" "http://127.0.0.1:$prom_port/api/v1/query"; }

metrics_port=$(free_port)
prom_port=$(free_port)
"$build/engine/engine_synth_csv" --out "$base/train.csv" --rows 4000 --classes 4 --seed 5 --vocab-words 500 2>/dev/null
"$build/engine/engine_prep" --train "$base/train.csv" --out "$base/ds" --valid-fraction 0.1 --quiet || fail "prep"

mpi=(mpirun -np 2 --oversubscribe --mca btl self,vader,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo)
[ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
# Long enough to outlast the checks; stopped by SIGTERM below.
"${mpi[@]}" "$build/engine/engine_train" --data "$base/ds" --out "$base/run" --embed 16 --hidden 32 \
  --batch-size 8 --epochs 1000 --metrics-port "$metrics_port" --metrics-host 127.0.0.1 --quiet \
  >"$base/train.log" 2>&1 &
launcher=$!

cat >"$base/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: engine
    static_configs: [{targets: ['127.0.0.1:$metrics_port']}]
YAML
promtool check config "$base/prometheus.yml" >/dev/null || fail "promtool rejects the scrape config"
promtool check config "$(dirname "$0")/../cluster/monitoring/prometheus.yml" >/dev/null ||
  fail "promtool rejects cluster/monitoring/prometheus.yml"
prometheus --config.file="$base/prometheus.yml" --storage.tsdb.path="$base/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" --web.enable-lifecycle >"$base/prometheus.log" 2>&1 &
prometheus_pid=$!

# The endpoint itself: valid exposition format.
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$metrics_port/metrics" >"$base/metrics.txt" && break; sleep 0.1; done
[ -s "$base/metrics.txt" ] || fail "no /metrics on port $metrics_port"
promtool check metrics <"$base/metrics.txt" || fail "promtool rejects the exposition"
# Every metric the Grafana dashboard plots is one the engine exports.
/usr/bin/python3 - "$(dirname "$0")/../cluster/monitoring/grafana-dashboard.json" "$base/metrics.txt" <<'PY' || fail "dashboard"
import json, re, sys
dashboard = json.load(open(sys.argv[1]))
exported = set(re.findall(r"^# TYPE (\w+)", open(sys.argv[2]).read(), re.M))
used = {m for p in dashboard["panels"] for t in p["targets"] for m in re.findall(r"engine_\w+", t["expr"])}
missing = used - exported
if missing: sys.exit(f"dashboard uses metrics the engine does not export: {sorted(missing)}")
print(f"dashboard: {len(dashboard['panels'])} panels over {len(used)} exported metrics")
PY

# Prometheus scraped it (first scrape takes ~5 s) and answers for both ranks.
value() { /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(float(r[0]["value"][1]) if r else 0)'; }
ok=""
for _ in $(seq 80); do
  steps=$(query 'engine_step' | value)
  ranks=$(query 'count(engine_rank_step_seconds > 0)' | value)
  rate=$(query 'rate(engine_samples_total[10s])' | value)
  if /usr/bin/python3 -c "import sys; sys.exit(0 if $steps > 0 and $ranks == 2 and $rate > 0 else 1)"; then
    ok=1
    break
  fi
  sleep 0.5
done
[ -n "$ok" ] || fail "Prometheus has no engine_step > 0 with 2 ranks and a sample rate (steps=$steps ranks=$ranks rate=$rate)"
phases=$(query 'engine_step_seconds' | /usr/bin/python3 -c 'import json,sys; print(" ".join(sorted(m["metric"]["phase"] for m in json.load(sys.stdin)["data"]["result"])))')
[ "$phases" = "allreduce backward data forward optimizer" ] || fail "phases: $phases"
health=$(curl -sf "http://127.0.0.1:$prom_port/api/v1/targets" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["activeTargets"][0]["health"])')
[ "$health" = "up" ] || fail "target health $health"
echo "Prometheus saw step $steps on 2 ranks, $rate samples/s"

# SIGTERM to the ranks: checkpoint and exit 75 (resumable).
pkill -TERM -P "$launcher" -f engine_train
wait "$launcher"
status=$?
[ "$status" -eq 75 ] || fail "engine_train exited $status after SIGTERM, expected 75"
ls "$base/run/checkpoints/"ckpt-*.h5 >/dev/null 2>&1 || fail "no checkpoint after SIGTERM"
curl -sf -X POST "http://127.0.0.1:$prom_port/-/quit" >/dev/null
wait "$prometheus_pid" 2>/dev/null
prometheus_pid=""
echo "PASSED"

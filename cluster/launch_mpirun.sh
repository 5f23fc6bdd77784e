#!/usr/bin/env bash
# Data-parallel training on plain hosts (no scheduler):
#
#   cluster/launch_mpirun.sh HOSTS RANKS --data DATA_DIR --out RUN_DIR [engine_train flags]
#   e.g. cluster/launch_mpirun.sh node1:4,node2:4 8 --data /shared/ds --out /shared/run
#
# HOSTS is mpirun's --host list (host:slots,...); "localhost" runs on this machine. The build and
# the data must be at the same paths on every host. Ctrl-C or SIGTERM checkpoints and stops;
# run the same command again to continue (--resume auto).
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,10p' "$0"
  exit 2
fi
hosts=$1 ranks=$2
shift 2
bin=${ENGINE_BIN:-$(cd "$(dirname "$0")/.." && pwd)/build/engine}
flags=(--host "$hosts" --bind-to core)
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
exec mpirun -np "$ranks" "${flags[@]}" "$bin/engine_train" --resume auto "$@"

#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the engine needs (only those missing; quiet when all are
# there) and configures + builds it with CMake/Ninja into build/ (or $ENGINE_BUILD_DIR).
# Usage: bash scripts/setup.sh [extra cmake -D options]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libopenmpi-dev openmpi-bin          # MPI ranks
  slurm-wlm munge                     # the Slurm integration test runs a one-node cluster
  libhdf5-dev hdf5-tools              # shards and checkpoints; h5dump
  libisal-dev                         # fast deflate (igzip) for shard chunks
  libcli11-dev                        # command lines
  libgtest-dev libgmock-dev           # tests
  libopenblas-dev                     # CPU GEMM
  nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev   # JSON, YAML configs, logging
  python3 python3-h5py python3-numpy  # test helpers read shards with h5py
  python3-torch                       # the PyTorch parity tests and benchmark peer
  fortunes fortunes-min               # the default corpus
  protobuf-compiler libprotobuf-dev   # TensorBoard event protos
  libcpp-httplib-dev                  # the Prometheus endpoint, the MLflow REST client
  prometheus                          # the monitoring test scrapes a run with a real Prometheus
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "[setup] installing: ${missing[*]}"
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build_dir=${ENGINE_BUILD_DIR:-build}
# The CUDA toolkit is optional: CMake builds the CUDA backend when it finds nvcc.
[ -x /usr/local/cuda/bin/nvcc ] && export PATH="/usr/local/cuda/bin:$PATH"
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
elif (($#)); then
  cmake "$build_dir" "$@" >/dev/null
fi
cmake --build "$build_dir" -- -j"$(nproc)"
echo "[setup] built into $build_dir"

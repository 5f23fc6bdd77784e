#!/usr/bin/env bash
# Creates the Python environment of the tracking tests, $ENGINE_BUILD_DIR/pyenv (default
# build/pyenv): Debian's python3 with its packages (h5py, numpy, torch) plus TensorBoard and
# MLflow from PyPI (scripts/requirements-tracking.txt). Quiet and quick when already there.
set -euo pipefail
cd "$(dirname "$0")/.."
env_dir=${ENGINE_BUILD_DIR:-build}/pyenv
requirements=scripts/requirements-tracking.txt
stamp=$env_dir/.requirements
if [ -f "$stamp" ] && cmp -s "$stamp" "$requirements"; then exit 0; fi
if ! /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null; then
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi
echo "[setup] creating $env_dir (tensorboard, mlflow)"
rm -rf "$env_dir"
/usr/bin/python3 -m venv --system-site-packages "$env_dir"
"$env_dir/bin/pip" install -q --disable-pip-version-check -r "$requirements"
cp "$requirements" "$stamp"

#!/usr/bin/env bash
# Renders a run's report.html in headless Chromium (Debian `chromium`) to a PNG, to look at the
# plots as a person would: bash scripts/render_report.sh runs/default [out.png] [height]
set -euo pipefail
run=${1:?usage: render_report.sh RUN_DIR [OUT.png] [HEIGHT]}
out=${2:-$run/report.png}
height=${3:-4000}
if ! command -v chromium >/dev/null; then
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core >/dev/null
fi
page=$(realpath "$run/report.html")
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,"$height" \
  --screenshot="$(realpath -m "$out")" "file://$page" 2>/dev/null
echo "[render] $out"

#!/usr/bin/env bash
# Step 2 (deploy/alveo/README.md): XRT's own checks of every card, or of the cards given by BDF.
#   deploy/alveo/validate-cards.sh [BDF...]
# Exit status: 0 when every card passed xbutil validate, 1 otherwise.
set -euo pipefail
if [ -f /opt/xilinx/xrt/setup.sh ] && ! command -v xbutil >/dev/null 2>&1; then
  set +eu
  # shellcheck disable=SC1091
  source /opt/xilinx/xrt/setup.sh
  set -eu
fi
if ! command -v xbutil >/dev/null 2>&1; then
  echo "validate-cards.sh: xbutil is not on PATH; install XRT first (deploy/alveo/install-runtime.sh)" >&2
  exit 1
fi
echo "== xbutil examine =="
report="$(xbutil examine)"
echo "$report"
bdfs=("$@")
if [ "${#bdfs[@]}" -eq 0 ]; then
  # The device lines of `xbutil examine` start with the BDF in brackets: [0000:3b:00.1] : xilinx_u250_...
  mapfile -t bdfs < <(grep -oE '^\s*\[[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-9]\]' <<<"$report" | tr -d '[] ')
fi
if [ "${#bdfs[@]}" -eq 0 ]; then
  echo "validate-cards.sh: xbutil examine lists no card (driver not loaded? lspci -d 10ee: shows the cards)" >&2
  exit 1
fi
failed=0
for bdf in "${bdfs[@]}"; do
  echo "== xbutil validate --device $bdf =="
  if xbutil validate --device "$bdf"; then
    echo "card $bdf: validated"
  else
    echo "card $bdf: FAILED validation" >&2
    failed=1
  fi
  echo "== sensors of $bdf (what fpgaserve reports on /metrics) =="
  xbutil examine --device "$bdf" --report electrical thermal || true
done
exit "$failed"

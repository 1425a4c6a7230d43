#!/usr/bin/env bash
# Step 4 (deploy/alveo/README.md), as root: fpgaserve as a systemd service driving every Alveo card.
#   sudo deploy/alveo/install-service.sh FPGASERVE_BINARY XCLBIN MODEL [TOKENIZER]
# Installs deploy/systemd/fpgaserve.service with the drop-in fpgaserve.service.d/alveo.conf, and writes
# /etc/fpgaserve/fpgaserve.env with FPGASERVE_DEVICE=xrt:0,...,xrt:N-1 for the N cards xbutil lists.
set -euo pipefail
if [ "$#" -lt 3 ]; then
  echo "usage: $0 FPGASERVE_BINARY XCLBIN MODEL [TOKENIZER]" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-service.sh: run as root (sudo)" >&2
  exit 1
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
systemd_dir="$here/../systemd"
if [ -f /opt/xilinx/xrt/setup.sh ] && ! command -v xbutil >/dev/null 2>&1; then
  set +eu
  # shellcheck disable=SC1091
  source /opt/xilinx/xrt/setup.sh
  set -eu
fi
cards=0
if command -v xbutil >/dev/null 2>&1; then
  cards="$(xbutil examine | grep -cE '^\s*\[[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-9]\]' || true)"
fi
if [ "$cards" -lt 1 ]; then
  echo "install-service.sh: xbutil lists no card; run deploy/alveo/validate-cards.sh first" >&2
  exit 1
fi
devices="xrt:0"
for ((i = 1; i < cards; i++)); do devices="$devices,xrt:$i"; done

install -m 0755 "$1" /usr/local/bin/fpgaserve
install -d /usr/local/share/fpgaserve /etc/fpgaserve
install -m 0644 "$2" /usr/local/share/fpgaserve/fpgaserve.xclbin
install -m 0644 "$3" "/usr/local/share/fpgaserve/$(basename "$3")"
install -m 0644 "$systemd_dir/fpgaserve.service" /etc/systemd/system/fpgaserve.service
install -D -m 0644 "$here/fpgaserve.service.d/alveo.conf" /etc/systemd/system/fpgaserve.service.d/alveo.conf
env_file=/etc/fpgaserve/fpgaserve.env
if [ ! -f "$env_file" ]; then
  install -m 0644 "$systemd_dir/fpgaserve.env" "$env_file"
fi
# Replace the card, xclbin and model lines, keeping the file's other settings.
sed -i -E '/^#?FPGASERVE_(DEVICE|XCLBIN|MODEL|TOKENIZER)=/d' "$env_file"
{
  echo "FPGASERVE_DEVICE=$devices"
  echo "FPGASERVE_XCLBIN=/usr/local/share/fpgaserve/fpgaserve.xclbin"
  echo "FPGASERVE_MODEL=/usr/local/share/fpgaserve/$(basename "$3")"
  if [ "$#" -ge 4 ]; then
    install -m 0644 "$4" "/usr/local/share/fpgaserve/$(basename "$4")"
    echo "FPGASERVE_TOKENIZER=/usr/local/share/fpgaserve/$(basename "$4")"
  fi
} >>"$env_file"
systemctl daemon-reload
systemctl enable --now fpgaserve
echo "fpgaserve serves on $cards card(s) ($devices); logs: journalctl -u fpgaserve -f"

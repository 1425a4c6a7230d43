#!/usr/bin/env bash
# Step 4, on the F1 instance, as root: installs fpgaserve as a systemd service driving every card.
#   sudo deploy/aws-f1/install-service.sh FPGASERVE_BINARY AWSXCLBIN MODEL [TOKENIZER]
# Writes /etc/default/fpgaserve with --device xrt:0,...,xrt:N-1 for the N FPGA slots of the instance
# (f1.2xlarge: xrt:0; f1.16xlarge: xrt:0 ... xrt:7) and installs fpgaserve.service.
set -euo pipefail
if [ "$#" -lt 3 ]; then
  echo "usage: $0 FPGASERVE_BINARY AWSXCLBIN MODEL [TOKENIZER]" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-service.sh: run as root (sudo)" >&2
  exit 1
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
install -d /opt/fpgaserve /var/lib/fpgaserve
install -m 0755 "$1" /opt/fpgaserve/fpgaserve
install -m 0644 "$2" /opt/fpgaserve/fpgaserve.awsxclbin
install -m 0644 "$3" /opt/fpgaserve/model.bin
tokenizer_flag=""
if [ "$#" -ge 4 ]; then
  install -m 0644 "$4" /opt/fpgaserve/tokenizer.bin
  tokenizer_flag="--tokenizer /opt/fpgaserve/tokenizer.bin"
fi

cards="$(lspci -n -d 1d0f: | grep -c -E '1d0f:(1042|f010)' || true)"
if [ "$cards" -lt 1 ]; then
  echo "install-service.sh: no FPGA slot found (lspci -d 1d0f:); is this an F1 instance?" >&2
  exit 1
fi
devices=""
for ((i = 0; i < cards; i++)); do
  devices="${devices:+$devices,}xrt:$i"
done
cat > /etc/default/fpgaserve <<CONF
# Written by deploy/aws-f1/install-service.sh: $cards card(s).
FPGASERVE_ARGS="--device $devices --xclbin /opt/fpgaserve/fpgaserve.awsxclbin --model /opt/fpgaserve/model.bin $tokenizer_flag --host 0.0.0.0 --port 8080"
CONF
install -m 0644 "$here/fpgaserve.service" /etc/systemd/system/fpgaserve.service
systemctl daemon-reload
systemctl enable --now fpgaserve
echo "fpgaserve serves on :8080 with --device $devices; logs: journalctl -u fpgaserve -f"

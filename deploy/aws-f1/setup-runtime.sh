#!/usr/bin/env bash
# Step 3, on the F1 instance (f1.2xlarge: 1 card, f1.4xlarge: 2, f1.16xlarge: 8), as root: the runtime.
#   sudo deploy/aws-f1/setup-runtime.sh
# Installs XRT and the AWS shim through aws-fpga's vitis_runtime_setup.sh and starts mpd, the daemon
# that loads AFIs for XRT (load_xclbin of an .awsxclbin asks mpd to load the AFI named inside).
set -euo pipefail
aws_fpga="${AWS_FPGA_REPO_DIR:-/opt/aws-fpga}"
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-runtime.sh: run as root (sudo)" >&2
  exit 1
fi
if [ ! -d "$aws_fpga" ]; then
  git clone --depth 1 https://github.com/aws/aws-fpga "$aws_fpga"
fi
if [ ! -f /opt/xilinx/xrt/setup.sh ]; then
  echo "setup-runtime.sh: XRT is not installed. On the FPGA Developer AMI it is; otherwise install the XRT" >&2
  echo "  release aws-fpga names for your Vitis version (aws-fpga/Vitis/docs/XRT_installation_instructions.md)." >&2
  exit 1
fi
set +eu
# shellcheck disable=SC1091
source "$aws_fpga/vitis_runtime_setup.sh"
set -eu
systemctl enable --now mpd
cards="$(lspci -n -d 1d0f: | grep -c -E '1d0f:(1042|f010)' || true)"
echo "FPGA slots on this instance: $cards"
# shellcheck disable=SC1091
source /opt/xilinx/xrt/setup.sh
xbutil examine || true

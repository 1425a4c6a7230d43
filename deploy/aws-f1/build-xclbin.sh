#!/usr/bin/env bash
# Step 1, on the build instance (FPGA Developer AMI, e.g. z1d.2xlarge or c5.4xlarge; 32+ GiB RAM):
# builds kernel/ into build/aws-f1/hw/fpgaserve.xclbin for the AWS F1 platform (several hours).
#   deploy/aws-f1/build-xclbin.sh [make variables, e.g. MAX_STEP=32]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
aws_fpga="${AWS_FPGA_REPO_DIR:-$HOME/aws-fpga}"

if ! command -v v++ >/dev/null 2>&1; then
  if [ ! -f "$aws_fpga/vitis_setup.sh" ]; then
    echo "build-xclbin.sh: v++ is not on PATH and $aws_fpga/vitis_setup.sh does not exist." >&2
    echo "  git clone https://github.com/aws/aws-fpga \"$aws_fpga\" (or set AWS_FPGA_REPO_DIR), on the FPGA Developer AMI." >&2
    exit 1
  fi
  # vitis_setup.sh reads unset variables and returns non-zero on warnings: source it without -eu.
  set +eu
  # shellcheck disable=SC1091
  source "$aws_fpga/vitis_setup.sh"
  set -eu
fi
make -C "$repo/kernel" PLATFORM=aws-f1 TARGET=hw "$@"
echo "next: deploy/aws-f1/create-afi.sh $repo/kernel/build/aws-f1/hw/fpgaserve.xclbin s3://YOUR-BUCKET/fpgaserve"

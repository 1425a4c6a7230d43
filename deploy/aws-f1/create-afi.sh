#!/usr/bin/env bash
# Step 2, on the build instance: turns the xclbin into an Amazon FPGA Image (AFI) and an .awsxclbin.
#   deploy/aws-f1/create-afi.sh XCLBIN s3://BUCKET/PREFIX [OUT_DIR]
# Uploads the design checkpoint to S3 with aws-fpga's create_vitis_afi.sh, which calls
# `aws ec2 create-fpga-image` and writes OUT_DIR/fpgaserve.awsxclbin (the xclbin with the AFI id in place
# of the bitstream; our build metadata is kept). Then waits until the AFI is available (30-60 minutes).
# Needs AWS credentials allowed to write the bucket and call ec2:CreateFpgaImage / DescribeFpgaImages.
set -euo pipefail
if [ "$#" -lt 2 ]; then
  echo "usage: $0 XCLBIN s3://BUCKET/PREFIX [OUT_DIR]" >&2
  exit 2
fi
xclbin="$(readlink -f "$1")"
s3="${2#s3://}"
bucket="${s3%%/*}"
prefix="${s3#*/}"
[ "$prefix" = "$s3" ] && prefix="fpgaserve"
out="${3:-$(pwd)/afi}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
aws_fpga="${AWS_FPGA_REPO_DIR:-$HOME/aws-fpga}"
tool="$aws_fpga/Vitis/tools/create_vitis_afi.sh"

[ -f "$xclbin" ] || { echo "create-afi.sh: $xclbin does not exist (run build-xclbin.sh first)" >&2; exit 1; }
[ -x "$tool" ] || [ -f "$tool" ] || { echo "create-afi.sh: $tool not found; clone aws-fpga and set AWS_FPGA_REPO_DIR" >&2; exit 1; }
command -v aws >/dev/null 2>&1 || { echo "create-afi.sh: the aws CLI is not installed" >&2; exit 1; }
if [ -z "${RELEASE_VER:-}" ]; then
  set +eu
  # shellcheck disable=SC1091
  source "$aws_fpga/vitis_setup.sh"
  set -eu
fi
aws s3api head-bucket --bucket "$bucket" >/dev/null 2>&1 || aws s3 mb "s3://$bucket"

mkdir -p "$out"
cd "$out"
bash "$tool" -xclbin="$xclbin" -o=fpgaserve -s3_bucket="$bucket" -s3_dcp_key="$prefix/dcp" -s3_logs_key="$prefix/logs"
afi_file="$(find . -maxdepth 1 -name '*_afi_id.txt' -newer "$xclbin" | sort | tail -n 1)"
[ -n "$afi_file" ] || { echo "create-afi.sh: create_vitis_afi.sh wrote no *_afi_id.txt" >&2; exit 1; }
afi="$(grep -o '"afi-[0-9a-f]*"' "$afi_file" | tr -d '"' | head -n 1)"
agfi="$(grep -o '"agfi-[0-9a-f]*"' "$afi_file" | tr -d '"' | head -n 1)"
echo "AFI $afi (global id $agfi); .awsxclbin: $out/fpgaserve.awsxclbin"
"$here/wait-afi.sh" "$afi"
echo "copy $out/fpgaserve.awsxclbin to the F1 instance, then run deploy/aws-f1/setup-runtime.sh there"

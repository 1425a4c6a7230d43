#!/usr/bin/env bash
# Waits until an AFI is available: deploy/aws-f1/wait-afi.sh afi-0123456789abcdef0 [TIMEOUT_MINUTES]
# Polls `aws ec2 describe-fpga-images`; exits 0 when the state is "available", 1 when it is "failed"
# (the reason and the S3 logs key are printed), 2 on timeout.
set -euo pipefail
if [ "$#" -lt 1 ]; then
  echo "usage: $0 AFI_ID [TIMEOUT_MINUTES]" >&2
  exit 2
fi
afi="$1"
deadline=$(( $(date +%s) + ${2:-180} * 60 ))
while :; do
  state="$(aws ec2 describe-fpga-images --fpga-image-ids "$afi" --query 'FpgaImages[0].State.Code' --output text)"
  case "$state" in
    available)
      echo "$afi is available"
      exit 0
      ;;
    failed)
      aws ec2 describe-fpga-images --fpga-image-ids "$afi" --query 'FpgaImages[0].State' --output text >&2
      echo "$afi failed; see the logs under the S3 logs key given to create-afi.sh" >&2
      exit 1
      ;;
  esac
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "$afi is still '$state' after the timeout" >&2
    exit 2
  fi
  echo "$(date +%H:%M:%S) $afi: $state"
  sleep 60
done

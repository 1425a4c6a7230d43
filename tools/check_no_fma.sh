#!/usr/bin/env bash
# Fails when a kernel object holds a fused multiply-add instruction (vfmadd*, vfmsub*, vfnmadd*, vfnmsub*,
# vfmaddsub*, vfmsubadd*). The card has no fused multiply-add, so the simulated card and the card kernel's
# C simulation must not use one either: -ffp-contract=off is not enough on its own (GCC 12's vectoriser
# emits vfmaddsub for RoPE's rotation regardless), so the objects themselves are checked.
# Usage: check_no_fma.sh OBJECT...
set -euo pipefail
status=0
for object in "$@"; do
  count=$(objdump -d --no-show-raw-insn "$object" | grep -cE '\bv(fn?m(add|sub)|fmaddsub|fmsubadd)[0-9]{3}' || true)
  if [ "$count" -ne 0 ]; then
    echo "check_no_fma: $object has $count fused multiply-add instructions:" >&2
    objdump -dC --no-show-raw-insn "$object" | awk '/^[0-9a-f]+ </{fn=$0} /v(fn?m(add|sub)|fmaddsub|fmsubadd)[0-9][0-9][0-9]/{print "  " fn " " $0}' | head -5 >&2
    status=1
  fi
done
echo "check_no_fma: $# objects, $([ $status -eq 0 ] && echo none found || echo FOUND)"
exit $status

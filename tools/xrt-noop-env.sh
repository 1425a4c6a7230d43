#!/usr/bin/env bash
# Source this to run fpgaserve's XRT card path without a card, on XRT's noop shim:
#   source tools/xrt-noop-env.sh
#   build/fpgaserve xclbin make-test /tmp/fpgaserve-test.xclbin
#   build/fpgaserve serve --device xrt:0 --xclbin /tmp/fpgaserve-test.xclbin ...
# XRT loads its shim from $XILINX_XRT/lib; with XCL_EMULATION_MODE=noop that is libxrt_noop.so, which
# opens device 0, loads xclbins and completes every run without computing (logits stay zero).
# Debian's libxrt puts its libraries in the multiarch folder, so we make a folder whose lib/ points there.

_fpgaserve_xrt_lib=""
for _dir in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /opt/xilinx/xrt/lib; do
  if [ -e "$_dir/libxrt_noop.so.2" ] || [ -e "$_dir/libxrt_noop.so" ]; then
    _fpgaserve_xrt_lib="$_dir"
    break
  fi
done
if [ -z "$_fpgaserve_xrt_lib" ]; then
  echo "xrt-noop-env.sh: libxrt_noop.so not found; install libxrt1 (Debian) or XRT" >&2
  # shellcheck disable=SC2317  # exit is reached only when the file is executed instead of sourced
  return 1 2>/dev/null || exit 1
fi
_fpgaserve_xrt_root="${TMPDIR:-/tmp}/fpgaserve-xrt-noop-$(id -u)"
mkdir -p "$_fpgaserve_xrt_root"
ln -sfn "$_fpgaserve_xrt_lib" "$_fpgaserve_xrt_root/lib"
export XILINX_XRT="$_fpgaserve_xrt_root"
export XCL_EMULATION_MODE=noop
echo "XRT noop shim: XILINX_XRT=$XILINX_XRT (lib -> $_fpgaserve_xrt_lib), XCL_EMULATION_MODE=noop"
unset _dir _fpgaserve_xrt_lib _fpgaserve_xrt_root

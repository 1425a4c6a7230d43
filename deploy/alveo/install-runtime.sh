#!/usr/bin/env bash
# Step 1 (deploy/alveo/README.md), as root: XRT and the card's platform from AMD's packages.
#   sudo deploy/alveo/install-runtime.sh XRT.deb PLATFORM.deb...
# Installs the packages (apt builds the xocl and xclmgmt drivers with DKMS), then shows the cards and,
# when a card's base shell is older than the installed one, the flash command to run yourself.
set -euo pipefail
if [ "$#" -lt 1 ]; then
  echo "usage: $0 XRT.deb [PLATFORM.deb...]   (packages from the card's page on amd.com)" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-runtime.sh: run as root (sudo)" >&2
  exit 1
fi
debs=()
for f in "$@"; do
  if [ ! -f "$f" ]; then
    echo "install-runtime.sh: no such package: $f" >&2
    exit 1
  fi
  # apt installs a local package only when given a path
  debs+=("$(realpath "$f")")
done
apt-get update
apt-get install -y "${debs[@]}"

if [ ! -f /opt/xilinx/xrt/setup.sh ]; then
  echo "install-runtime.sh: /opt/xilinx/xrt/setup.sh is missing after the install: was the XRT package given?" >&2
  exit 1
fi
set +eu
# shellcheck disable=SC1091
source /opt/xilinx/xrt/setup.sh
set -eu
echo "== cards (xbmgmt examine) =="
xbmgmt examine || true
echo
echo "If a card above shows a base shell older than the installed one, flash it once, then cold-reboot"
echo "(power off and on; a warm restart does not load the new shell):"
echo "  sudo xbmgmt program --base --device <BDF of the management function>"
echo "Then: deploy/alveo/validate-cards.sh"

#!/usr/bin/env bash
# Checks every shell script under deploy/ and tools/: `bash -n` always, shellcheck when installed
# (deploy/install-deps.sh installs it). Usage: tests/fpga/check_scripts.sh [SOURCE_DIR]
set -euo pipefail
root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
mapfile -t scripts < <(find "$root/deploy" "$root/tools" -name '*.sh' -type f | sort)
if [ "${#scripts[@]}" -eq 0 ]; then
  echo "check_scripts.sh: no scripts under $root/deploy or $root/tools" >&2
  exit 1
fi
status=0
for s in "${scripts[@]}"; do
  if ! bash -n "$s"; then
    echo "FAIL bash -n: $s" >&2
    status=1
  fi
done
if command -v shellcheck >/dev/null 2>&1; then
  shellcheck -x "${scripts[@]}" || status=1
else
  echo "check_scripts.sh: shellcheck not installed; only bash -n was run" >&2
fi
[ "$status" -eq 0 ] && echo "checked ${#scripts[@]} scripts"
exit "$status"

#!/usr/bin/env bash
# Formats every tracked C++ file (*.h, *.cpp, *.hpp, *.cc) with clang-format 14 and the repository's
# .clang-format. With --check nothing is changed: the files that would change are listed and the script
# fails (clang-format --dry-run -Werror), which is what CTest's source_is_clang_formatted runs.
# Usage: tools/format.sh [--check]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *) echo "usage: tools/format.sh [--check]" >&2; exit 2 ;;
esac

clang_format="$(command -v clang-format-14 || command -v clang-format || true)"
if [ -z "$clang_format" ]; then
  echo "format.sh: clang-format not found (deploy/install-deps.sh installs it)" >&2
  exit 1
fi
# Another major version formats some constructs differently: the check would fail on correct code.
if ! "$clang_format" --version | grep -q 'version 14\.'; then
  echo "format.sh: $("$clang_format" --version) is not clang-format 14, which .clang-format is written for" >&2
  exit 1
fi

if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git -C "$root" ls-files -- '*.h' '*.cpp' '*.hpp' '*.cc')
else  # a source tree without git (an unpacked archive): the same folders git would list
  mapfile -t files < <(find base kernel fpga server tests tools -type f \
                         \( -name '*.h' -o -name '*.cpp' -o -name '*.hpp' -o -name '*.cc' \) | sort)
fi
if [ "${#files[@]}" -eq 0 ]; then
  echo "format.sh: no C++ files found under $root" >&2
  exit 1
fi

if [ "$check" -eq 0 ]; then
  "$clang_format" -i "${files[@]}"
  echo "format.sh: formatted ${#files[@]} files"
  exit 0
fi

# One clang-format for all files (one process per file takes several times as long); its warnings name
# each file that differs ("path:line:col: error: code should be clang-formatted").
if report="$("$clang_format" --dry-run -Werror --ferror-limit=1 "${files[@]}" 2>&1)"; then
  echo "format.sh: ${#files[@]} files clang-formatted"
  exit 0
fi
mapfile -t unformatted < <(grep -E '^[^ :]+:[0-9]+:[0-9]+: error:' <<<"$report" | cut -d: -f1 | sort -u)
if [ "${#unformatted[@]}" -eq 0 ]; then  # clang-format failed for another reason: show what it said
  echo "$report" >&2
  exit 1
fi
echo "format.sh: ${#unformatted[@]} of ${#files[@]} files are not clang-formatted (tools/format.sh formats them):" >&2
printf '  %s\n' "${unformatted[@]}" >&2
exit 1

#!/usr/bin/env bash
# Runs clang-tidy 14 with the repository's .clang-tidy over the project's own .cpp files (those of
# BUILD/compile_commands.json that lie in the source tree) and fails on any finding. Findings in our headers
# count too (once each, however many files include them); third-party headers are not checked.
# Usage: tools/tidy.sh [-p BUILD] [-j JOBS] [PATH_REGEX...]
#   -p BUILD     the build folder holding compile_commands.json (default: build; CMake writes it on configure)
#   -j JOBS      clang-tidy processes at once (default: 2)
#   PATH_REGEX   only the files whose path from the source root matches one of these (extended regexes,
#                e.g. '^base/' '^server/engine/'); default: all of them
# The full output, with the code of each finding, is left in BUILD/clang-tidy.log.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
jobs=2
while getopts "p:j:" opt; do
  case "$opt" in
    p) build="$(cd "$OPTARG" && pwd)" ;;
    j) jobs="$OPTARG" ;;
    *) echo "usage: tools/tidy.sh [-p BUILD] [-j JOBS] [PATH_REGEX...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

run_clang_tidy="$(command -v run-clang-tidy-14 || command -v run-clang-tidy || true)"
clang_tidy="$(command -v clang-tidy-14 || command -v clang-tidy || true)"
if [ -z "$run_clang_tidy" ] || [ -z "$clang_tidy" ]; then
  echo "tidy.sh: clang-tidy or run-clang-tidy not found (deploy/install-deps.sh installs clang-tidy)" >&2
  exit 1
fi
if ! "$clang_tidy" --version | grep -q 'version 14\.'; then
  echo "tidy.sh: $clang_tidy is not clang-tidy 14, which .clang-tidy is written for" >&2
  exit 1
fi
if [ ! -f "$build/compile_commands.json" ]; then
  echo "tidy.sh: no $build/compile_commands.json (configure with cmake -S . -B build first)" >&2
  exit 1
fi

# clang-tidy reads a copy of the compile database, in two ways unlike the build's:
# - without the build's precompiled headers (cmake/precompiled_headers.cmake), which are GCC's: clang takes a
#   command's `-include .../cmake_pch.hxx` to mean its own precompiled header beside it and stops ("not a PCH
#   file"); each file includes what it uses;
# - a unity build's file (CMake's Unity/unity_<n>_<lang>.<ext>, which #includes a target's sources by absolute
#   path: server/cli/CMakeLists.txt) replaced by an entry for each file it includes, with its command.
database="$build/clang-tidy-db"
mkdir -p "$database"
python3 - "$build/compile_commands.json" "$database/compile_commands.json" <<'EOF'
import json, os, re, sys
entries = []
for entry in json.load(open(sys.argv[1])):
    entry["command"] = re.sub(r" -Winvalid-pch -include [^ ]*/cmake_pch\.hxx", "", entry["command"])
    path = os.path.join(entry["directory"], entry["file"])
    if "/Unity/unity_" not in path or not os.path.isfile(path):
        entries.append(entry)
        continue
    for included in re.findall(r'^#include "(/[^"]+)"$', open(path).read(), re.M):
        entries.append(dict(entry, file=included, command=entry["command"].replace(path, included)))
json.dump(entries, open(sys.argv[2], "w"), indent=1)
EOF

# The source files to check: the compile database's, in the source tree (not generated ones in the build).
mapfile -t files < <(python3 - "$database/compile_commands.json" "$root" "$build" "$@" <<'EOF'
import json, os, re, sys
database, root, build, patterns = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
seen = set()
for entry in json.load(open(database)):
    path = os.path.normpath(os.path.join(entry["directory"], entry["file"]))
    relative = os.path.relpath(path, root)
    if relative.startswith("..") or path.startswith(build + os.sep) or not path.endswith(".cpp"):
        continue
    if patterns and not any(re.search(p, relative) for p in patterns):
        continue
    if path not in seen:
        seen.add(path)
        print(path)
EOF
)
if [ "${#files[@]}" -eq 0 ]; then
  echo "tidy.sh: no files to check in $build/compile_commands.json${*:+ matching $*}" >&2
  exit 1
fi

# The database is g++'s. clang does not know some of g++'s warning options (-Wno-tsan in the sanitizer
# builds): it is told not to warn about those. Compiler warnings are not clang-tidy's findings (the clang
# build of make test reports them), so the build's -Werror does not turn them into errors here.
log="$build/clang-tidy.log"
regexes=()
for f in "${files[@]}"; do regexes+=("^${f//./\\.}\$"); done  # run-clang-tidy takes regexes
echo "tidy.sh: clang-tidy on ${#files[@]} files, $jobs at a time (full output: $log)"
status=0
"$run_clang_tidy" -clang-tidy-binary "$clang_tidy" -p "$database" -j "$jobs" -quiet \
  -header-filter="^$root/(base|kernel|fpga|server|tests)/" \
  -extra-arg=-Wno-unknown-warning-option -extra-arg=-Wno-error \
  "${regexes[@]}" >"$log" 2>&1 || status=$?

# One line per finding (a header's finding appears once), without the terminal colours.
mapfile -t findings < <(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^/[^ ]+:[0-9]+:[0-9]+: (warning|error):' |
                        sed "s|^$root/||" | sort -u)
if [ "${#findings[@]}" -ne 0 ]; then
  printf '%s\n' "${findings[@]}" >&2
  echo "tidy.sh: ${#findings[@]} findings in ${#files[@]} files (the code of each: $log)" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  tail -n 30 "$log" >&2
  echo "tidy.sh: run-clang-tidy failed (exit $status) without a finding; the output is in $log" >&2
  exit 1
fi
echo "tidy.sh: no findings in ${#files[@]} files"

#!/usr/bin/env bash
# Clang's thread-safety analysis over the code that uses annotated locks: fails when a GUARDED_BY field is
# used without its lock, a REQUIRES function is called without it, a lock is taken twice or not released
# (base/thread_annotations.h lists the annotations). The build itself is g++, where the annotations are
# empty; this check parses the same files with clang, the flags taken from the build's compile database.
#
# Usage: check_thread_safety.sh BUILD_DIR [FILE...]
#   BUILD_DIR  a configured build tree holding compile_commands.json (CMAKE_EXPORT_COMPILE_COMMANDS is ON)
#   FILE...    check these files instead of the default set. A file that is not in the compile database
#              (a test fixture) is parsed as C++ with the flags of base/'s entries.
#
# The default set: every translation unit of the database under base/ and server/engine/ (where the
# annotated classes live: Mutex, the engine's shared state, the card worker's watchdog information), plus any
# other one that reaches base/mutex.h through our headers, at any depth (its own locking, and its calls into
# annotated classes: a caller holding a lock an EXCLUDES names). A file that starts using an annotated class
# is picked up without editing this script; checking only these keeps the check to a few seconds per file
# instead of parsing the whole tree.
#
# Needs clang++ (CLANGXX overrides the name) and nothing else. Paths with spaces are not supported.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR [FILE...]" >&2
  exit 2
fi
build_dir=$1
shift
database="$build_dir/compile_commands.json"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
clangxx=${CLANGXX:-clang++}
if [ ! -f "$database" ]; then
  echo "check_thread_safety: no $database (configure the build first)" >&2
  exit 2
fi
if ! command -v "$clangxx" >/dev/null; then
  echo "check_thread_safety: $clangxx not found" >&2
  exit 2
fi

# "file" of every entry, and the "command" line just before it (CMake writes directory, command, file, output
# in that order, one per line). A unity build's file (CMake's Unity/unity_<n>_<lang>.<ext>, which #includes a
# target's sources by absolute path: server/cli/CMakeLists.txt) stands for each file it includes, which gets
# its command.
declare -A command_of
while IFS=$'\t' read -r file command; do
  command_of[$file]=$command
  if [[ $file == */Unity/unity_* ]] && [ -f "$file" ]; then
    while read -r included; do
      command_of[$included]=$command
    done < <(sed -n 's/^#include "\(\/.*\)"$/\1/p' "$file")
  fi
done < <(sed -n -e 's/^  "command": "\(.*\)",$/\1/p' -e 's/^  "file": "\(.*\)",\{0,1\}$/\1/p' "$database" |
         paste - - | awk -F'\t' '{print $2 "\t" $1}')

# The flags that matter to parsing: definitions, include dirs, the language standard. JSON escapes a
# definition's quotes as \\\" (-DDIR=\\\"/x\\\" in the file is -DDIR="/x" on the command line).
flags_of() {
  local command=${1//\\\\\\\"/\"}
  grep -oE '(^| )(-D[^ ]+|-I[^ ]+|-isystem [^ ]+|-std=[^ ]+)' <<<"$command" | sed 's/^ //' | tr '\n' ' '
}

# Whether a file reaches base/mutex.h through our own headers (any depth): it then uses annotated types, and
# the analysis checks its calls against their REQUIRES / EXCLUDES as well as its own locking.
declare -A reaches_mutex=()
uses_mutex() {
  local file=$1 inc
  if [ -n "${reaches_mutex[$file]:-}" ]; then [ "${reaches_mutex[$file]}" = yes ]; return; fi
  reaches_mutex[$file]=no  # an include cycle ends here
  while read -r inc; do
    if [ "$inc" = base/mutex.h ] || { [ -f "$root/$inc" ] && uses_mutex "$root/$inc"; }; then
      reaches_mutex[$file]=yes
      return 0
    fi
  done < <(grep -oE '^#include "(base|fpga|server)/[^"]+\.h"' "$file" | sed -E 's/^#include "(.*)"$/\1/')
  return 1
}

files=()
if [ $# -gt 0 ]; then
  for file in "$@"; do
    files+=("$(cd "$(dirname "$file")" && pwd)/$(basename "$file")")  # the database's paths are absolute
  done
else
  for file in "${!command_of[@]}"; do
    case $file in
      "$build_dir"/* | "$(cd "$build_dir" && pwd)"/*) continue ;;  # generated sources
      "$root"/base/* | "$root"/server/engine/*) files+=("$file") ;;
      *) if uses_mutex "$file"; then files+=("$file"); fi ;;
    esac
  done
fi
if [ ${#files[@]} -eq 0 ]; then
  echo "check_thread_safety: no files to check" >&2
  exit 2
fi

# Flags for a file outside the database: those of base/'s first entry.
fallback=""
for file in "${!command_of[@]}"; do
  case $file in "$root"/base/*) fallback=$(flags_of "${command_of[$file]}"); break ;; esac
done

status=0
for file in $(printf '%s\n' "${files[@]}" | sort); do
  if [ -n "${command_of[$file]:-}" ]; then
    # shellcheck disable=SC2046  # the flags are words
    "$clangxx" -fsyntax-only -Wthread-safety -Werror $(flags_of "${command_of[$file]}") "$file" || status=1
  else
    # shellcheck disable=SC2086
    "$clangxx" -fsyntax-only -Wthread-safety -Werror $fallback -x c++ "$file" || status=1
  fi
done
echo "check_thread_safety: ${#files[@]} files, $([ $status -eq 0 ] && echo clean || echo "FAILED (see above)")"
exit $status

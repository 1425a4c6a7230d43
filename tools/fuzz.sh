#!/usr/bin/env bash
# Runs the libFuzzer harnesses of a -DFPGASERVE_FUZZ=ON build (tests/fuzz/README.md).
# Usage: tools/fuzz.sh BUILD_DIR SECONDS JOBS [HARNESS...]
#   long runs (make fuzz):        each harness in turn, for SECONDS, with JOBS libFuzzer jobs (-jobs/-workers)
#   short runs (make test-fuzz):  SECONDS <= 30: the harnesses side by side, JOBS at a time, one job each
# Every harness starts from the committed seeds (tests/fuzz/corpus/<name>, regressions included) and
# grows its own corpus in BUILD_DIR/fuzz-corpus/<name>; a crash, leak, sanitizer report, timeout
# (2 s for the template harnesses' long runs, 10 s otherwise) or out-of-memory stops it, the input is written to
# BUILD_DIR/fuzz-findings/<name>-*, and the script fails naming the harness.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$(cd "${1:?usage: tools/fuzz.sh BUILD_DIR SECONDS JOBS [HARNESS...]}" && pwd)"
seconds="${2:?seconds per harness}"
jobs="${3:?jobs}"
shift 3
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  harnesses=(openai_request tokenize_api jinja_template chat_template tokenizer_codec tokenizer_file checkpoint
             gguf xclbin sse_parser server_config)
fi

dict_for() {
  case "$1" in
    openai_request | tokenize_api | tokenizer_file | server_config) echo "-dict=$root/tests/fuzz/json.dict" ;;
    jinja_template | chat_template) echo "-dict=$root/tests/fuzz/jinja.dict" ;;
  esac
}

# One harness: run_one NAME SECONDS JOBS; its log in BUILD_DIR/fuzz-logs/NAME.log.
run_one() {
  local name="$1" secs="$2" n="$3"
  local bin="$build/tests/fuzz/${name}_fuzz"
  [ -x "$bin" ] || { echo "fuzz.sh: $bin is not built (cmake --build $build --target fuzzers)" >&2; return 1; }
  mkdir -p "$build/fuzz-corpus/$name" "$build/fuzz-findings" "$build/fuzz-logs/$name"
  # A template that runs 2 s loops past the interpreter's step limit; elsewhere 2 s can be a stall of a loaded
  # machine (two such false alarms in 150 CPU-minutes, inputs that replay in 0.07 s): 10 s, and 10 s for the
  # short runs of make test, which must not fail on a busy machine.
  local timeout=10
  [ "$secs" -gt 30 ] && [[ "$name" == jinja_template || "$name" == chat_template ]] && timeout=2
  local -a args=(-max_total_time="$secs" -timeout="$timeout" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
                 -artifact_prefix="$build/fuzz-findings/$name-")
  local dict
  dict="$(dict_for "$name")"
  [ -n "$dict" ] && args+=("$dict")
  [ "$n" -gt 1 ] && args+=(-jobs="$n" -workers="$n")
  local status=0
  # -jobs writes each job's output to fuzz-<job>.log in the working folder.
  (cd "$build/fuzz-logs/$name" &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      "$bin" "${args[@]}" "$build/fuzz-corpus/$name" "$root/tests/fuzz/corpus/$name" \
      >"$build/fuzz-logs/$name.log" 2>&1) || status=$?
  local execs
  execs="$(grep -ho 'stat::number_of_executed_units: *[0-9]*' "$build/fuzz-logs/$name.log" \
             "$build/fuzz-logs/$name"/fuzz-*.log 2>/dev/null | awk '{s += $2} END {print s + 0}')"
  if [ "$status" -ne 0 ]; then
    echo "fuzz.sh: $name FAILED after $execs runs (log: $build/fuzz-logs/$name.log, inputs: $build/fuzz-findings/$name-*)"
    return 1
  fi
  echo "fuzz.sh: $name ok, $execs runs in ${secs}s x $n"
}

failed=0
if [ "$seconds" -le 30 ]; then
  export -f run_one dict_for
  export build root
  # shellcheck disable=SC2016  # $1 and $2 are the inner bash's arguments
  printf '%s\n' "${harnesses[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$1" "$2" 1' _ {} "$seconds" || failed=1
else
  for name in "${harnesses[@]}"; do
    run_one "$name" "$seconds" "$jobs" || failed=1
  done
fi
exit "$failed"

#!/usr/bin/env bash
# fpgaserve against llama.cpp on the same GGUF files (llamacpp_reference_test.cpp says what is compared).
#   tests/llamacpp/run.sh /path/to/llamacpp_tests [gtest flags]
# Installs node-llama-cpp (install.sh), then runs the test binary, which calls logits.mjs. Exit status: the
# test binary's.
set -euo pipefail
BIN=${1:?usage: run.sh LLAMACPP_TESTS_BINARY [gtest flags]}
shift
"$(dirname "$0")/install.sh"
exec "$BIN" "$@"

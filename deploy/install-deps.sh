#!/usr/bin/env bash
# Installs the Debian 12 packages that building and testing fpgaserve need, when they are missing.
# Usage: deploy/install-deps.sh [build|daemon|train|container]...   (default: build)
#   build      compiler, CMake, the libraries the daemon links and the test tools (see README "Dependencies")
#   daemon     only what configuring the tree and building the `fpgaserve` target need (the container
#              image's build stage): no clang, checkers, Node.js or Python test dependencies
#   train      what tools/train-demo needs to retrain the bundled demo model (large: PyTorch)
#   container  what deploy/container/smoke.sh needs when no container engine is present
set -euo pipefail

# The top-level CMakeLists.txt finds GoogleTest and cpp-httplib even when the tests are not built.
daemon_pkgs=(
  build-essential cmake pkg-config ca-certificates
  libboost-dev            # Boost.Asio/Beast: the HTTP transport, signals, timers, the load generator
  nlohmann-json3-dev      # JSON for the OpenAI API and the config file
  libspdlog-dev           # logging
  libcpp-httplib-dev      # the tests' HTTP client
  libssl-dev zlib1g-dev libbrotli-dev  # headers httplib.h includes (Debian builds it with TLS and compression)
  libcli11-dev            # command line
  libpcre2-dev            # Unicode regexes (with lookahead) of the byte-level BPE pre-tokenizers (Llama 3, SmolLM2)
  prometheus-cpp-dev      # /metrics in the Prometheus text format
  libgtest-dev libgmock-dev
  libxrt-dev uuid-dev     # Xilinx XRT native API for the real card
)
build_pkgs=(
  "${daemon_pkgs[@]}"
  git python3
  curl                    # the API tests' shell drivers
  python3-jinja2          # the reference renderer the chat-template tests compare our Jinja interpreter with
  shellcheck              # checks deploy/ scripts in make test
  systemd                 # systemd-analyze verifies deploy/systemd in make test
  clang                   # the clang build of make test (thread-safety annotations: -Wthread-safety)
  clang-format clang-tidy # tools/format.sh and tools/tidy.sh: the format and clang-tidy checks of make test
  libclang-rt-14-dev      # libFuzzer and clang's sanitizer runtimes: the fuzz build (make fuzz, make test-fuzz)
)
train_pkgs=(python3 python3-torch python3-sentencepiece python3-numpy r-cran-janeaustenr r-base-core libopenblas0-openmp)
container_pkgs=(podman runc debootstrap uidmap slirp4netns fuse-overlayfs curl)

want=()
[ $# -eq 0 ] && set -- build
for group in "$@"; do
  case "$group" in
    build) want+=("${build_pkgs[@]}") ;;
    daemon) want+=("${daemon_pkgs[@]}") ;;
    train) want+=("${train_pkgs[@]}") ;;
    container) want+=("${container_pkgs[@]}") ;;
    *) echo "install-deps: unknown group '$group' (build, daemon, train, container)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The official openai client in the API tests runs on Node; a machine may already have a Node.js
# that bundles npm (and then conflicts with Debian's npm package), so ask for the commands instead.
if [[ " $* " == *" build "* ]]; then
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

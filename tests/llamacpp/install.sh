#!/usr/bin/env bash
# Installs the pinned node-llama-cpp with llama.cpp's CPU build for linux-x64 only (package.json): npm ci
# with optional packages omitted (.npmrc), which leaves out the CUDA, Vulkan and other platforms' builds
# that node-llama-cpp lists as optional, and without install scripts: node-llama-cpp's postinstall would
# look for a matching prebuilt binary and otherwise download and build llama.cpp, which must never happen
# here (the CPU build ships inside @node-llama-cpp/linux-x64; logits.mjs asks getLlama for it with
# build "never"). Offline when node_modules already holds the pinned versions (npm ci would wipe it first).
set -euo pipefail
cd "$(dirname "$0")"
export NODE_LLAMA_CPP_SKIP_DOWNLOAD=true NODE_LLAMA_CPP_POSTINSTALL=skip
pinned() { node -p "require('./package-lock.json').packages['node_modules/$1'].version"; }
have() { node -p "try { require('./node_modules/$1/package.json').version } catch { '' }"; }
if [[ "$(have node-llama-cpp)" != "$(pinned node-llama-cpp)" ||
      "$(have @node-llama-cpp/linux-x64)" != "$(pinned @node-llama-cpp/linux-x64)" ]]; then
  npm ci --omit=optional --ignore-scripts --no-audit --no-fund >/dev/null
fi

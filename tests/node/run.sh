#!/usr/bin/env bash
# Runs the official openai npm client tests against real fpgaserve servers.
#   tests/node/run.sh /path/to/fpgaserve
# Generates a `tiny` random model and a 512-piece tokenizer in a temp dir, starts two servers on free
# loopback ports (the main one with an API key; a second with one slot and a queue of one, for 429),
# installs the pinned client with `npm ci` (offline when node_modules is already there), runs
# `node --test`, then stops the servers (SIGTERM) and removes the temp dir. Exit status: node's.
set -euo pipefail
BIN=${1:?usage: run.sh FPGASERVE_BINARY}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

"$BIN" model random --shape tiny "$TMP/tiny.bin" >/dev/null
python3 - "$TMP/tokenizer.bin" <<'PY'
# A vocabulary like tests/server/api/http_test_util.h's: <unk>, BOS, EOS, 256 byte tokens, printable
# ASCII, then two-letter merges, 512 pieces in all (the tiny shape's vocabulary).
import struct, sys
pieces = [("<unk>", 0.0), ("\n<s>\n", 0.0), ("\n</s>\n", 0.0)]
pieces += [("<0x%02X>" % b, 0.0) for b in range(256)]
pieces += [(chr(c), -1000.0 - c) for c in range(32, 127)]
score = -1.0
for a in "abcdefghijklmnopqrstuvwxyz":
    for b in "abcdefghijklmnopqrstuvwxyz":
        if len(pieces) < 512 and (a + b) not in {p for p, _ in pieces}:
            pieces.append((a + b, score)); score -= 1
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<I", 16))
    for text, s in pieces:
        data = text.encode()
        f.write(struct.pack("<fI", s, len(data))); f.write(data)
PY

# Starts a server and sets STARTED_PORT once /health answers 200. (Not called as $(start ...): a command
# substitution is a subshell, and the PIDS it recorded would be lost to the cleanup trap.)
STARTED_PORT=""
start() {
  local log=$1; shift
  "$BIN" serve --host 127.0.0.1 --port 0 --model "$TMP/tiny.bin" --tokenizer "$TMP/tokenizer.bin" \
    --served-model-name tiny --sim-threads 1 "$@" >"$log" 2>&1 &
  PIDS+=($!)
  STARTED_PORT=""
  local port=""
  for _ in $(seq 300); do
    port=$(sed -n 's/.*listening address=http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
    if [[ -n "$port" ]] && curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
      STARTED_PORT=$port
      return
    fi
    sleep 0.1
  done
  echo "server did not start:" >&2; cat "$log" >&2; exit 1
}
start "$TMP/main.log" --device sim:2 --kv-slots 4 --api-keys node-test-key
PORT=$STARTED_PORT
start "$TMP/queue.log" --device sim:1 --kv-slots 1 --max-queue 1 --api-keys node-test-key
QPORT=$STARTED_PORT

cd "$HERE"
# npm ci wipes node_modules first, so skip it when the pinned version is already installed (offline runs).
PINNED=$(node -p 'require("./package-lock.json").packages["node_modules/openai"].version')
HAVE=$(node -p 'try { require("./node_modules/openai/package.json").version } catch { "" }')
[[ "$PINNED" == "$HAVE" ]] || npm ci --no-audit --no-fund >/dev/null
FPGASERVE_URL="http://127.0.0.1:$PORT/v1" FPGASERVE_QUEUE_URL="http://127.0.0.1:$QPORT/v1" \
  FPGASERVE_API_KEY=node-test-key FPGASERVE_MODEL=tiny node --test openai_client.test.mjs

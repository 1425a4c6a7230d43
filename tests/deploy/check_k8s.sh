#!/usr/bin/env bash
# Validates deploy/k8s offline against the Kubernetes schemas (tests/deploy/validate-k8s.mjs), after
# installing the pinned npm packages of tests/deploy/package-lock.json when they are not there yet.
# Needs node and npm (the npm registry for the first install). Last line: PASS or FAIL.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "check_k8s: FAIL: $tool is missing (deploy/install-deps.sh build)"; exit 1; }
done
# npm ci writes node_modules/.package-lock.json: reinstall when it is missing or older than the lock.
if [ ! -f "$HERE/node_modules/.package-lock.json" ] || [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
  if ! timeout 300 npm ci --prefix "$HERE" --no-audit --no-fund --loglevel=error >"$HERE/.npm-ci.log" 2>&1; then
    cat "$HERE/.npm-ci.log"
    echo "check_k8s: FAIL: npm ci --prefix tests/deploy failed"
    exit 1
  fi
  rm -f "$HERE/.npm-ci.log"
fi
if timeout 120 node "$HERE/validate-k8s.mjs" "$@"; then
  echo "check_k8s: PASS"
else
  echo "check_k8s: FAIL: deploy/k8s manifests do not validate (see above)"
  exit 1
fi

#!/usr/bin/env bash
# Checks deploy/systemd/fpgaserve.service and fpgaserve.env:
#   1. `systemd-analyze verify` passes with no warning at all (it exits 0 on unknown keys and bad
#      values, so any output counts as a failure). Verify needs ExecStart's binary to exist: it runs
#      on a copy whose ExecStart points at a stub executable this test creates.
#   2. A deliberately broken copy (a misspelt key) fails that same check, so the check can fail.
#   3. `systemd-analyze security --offline` rates the sandbox at exposure 3.0 or better.
#   4. The stop timeout covers the drain timeout of fpgaserve.env plus a margin; the settings the
#      deployment relies on are there; every line of fpgaserve.env is a variable the daemon reads.
#   5. The ExecStartPost readiness poll, run for real against a stub /health: it waits through 503,
#      succeeds on 200, and fails at once when the main process is gone.
# Needs systemd-analyze (Debian package `systemd`), bash, python3. Last line: PASS or FAIL.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
UNIT="${1:-$HERE/../../deploy/systemd/fpgaserve.service}"
ENVFILE="$(dirname "$UNIT")/fpgaserve.env"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/check-systemd.XXXXXX")"
STUB_PID=""
passed=0
failed=0

cleanup() {
  if [ -n "$STUB_PID" ]; then kill "$STUB_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

if ! command -v systemd-analyze >/dev/null; then
  echo "check_systemd: FAIL: systemd-analyze is missing (Debian package: systemd)"
  exit 1
fi
if [ ! -f "$UNIT" ] || [ ! -f "$ENVFILE" ]; then
  echo "check_systemd: FAIL: $UNIT or $ENVFILE missing"
  exit 1
fi

# A copy of the unit that systemd-analyze can load here: ExecStart on a stub, the env file beside it.
printf '#!/bin/sh\nexit 0\n' >"$WORK/fpgaserve"
chmod 0755 "$WORK/fpgaserve"
cp "$ENVFILE" "$WORK/fpgaserve.env"
sed -e "s#^ExecStart=/usr/local/bin/fpgaserve #ExecStart=$WORK/fpgaserve #" \
    -e "s#^EnvironmentFile=-/etc/fpgaserve/fpgaserve.env#EnvironmentFile=-$WORK/fpgaserve.env#" \
    "$UNIT" >"$WORK/fpgaserve.service"
grep -q "^ExecStart=$WORK/fpgaserve serve" "$WORK/fpgaserve.service" ||
  bad "ExecStart is not /usr/local/bin/fpgaserve serve (the test rewrites exactly that)"

strict_verify() {  # unit file -> 0 when systemd-analyze verify exits 0 and prints nothing
  local out
  out="$(cd "$WORK" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$1" 2>&1)" || {
    echo "$out"
    return 1
  }
  [ -z "$out" ] || { echo "$out"; return 1; }
}

# 1. verify
if out="$(strict_verify "$WORK/fpgaserve.service")"; then
  ok "systemd-analyze verify: no error, no warning"
else
  bad "systemd-analyze verify: $out"
fi

# 2. the check can fail
sed -e 's/^ProtectHome=yes/ProtectHme=yes/' "$WORK/fpgaserve.service" >"$WORK/broken.service"
if strict_verify "$WORK/broken.service" >/dev/null; then
  bad "a unit with a misspelt key passed the verify check"
else
  ok "a unit with a misspelt key fails the verify check"
fi

# 3. sandbox exposure (0 = locked down, 10 = none), threshold given in tenths
if report="$(cd "$WORK" && systemd-analyze security --offline=yes --threshold=30 --no-pager ./fpgaserve.service 2>&1)"; then
  ok "sandbox: $(echo "$report" | grep -o 'Overall exposure level.*' | sed 's/ [^ ]*$//')"
else
  bad "sandbox exposure above 3.0: $(echo "$report" | tail -n 1)"
fi

# 4. settings
setting() { sed -n "s/^$1=//p" "$UNIT" | tail -n 1; }
for want in "Type=exec" "KillSignal=SIGTERM" "KillMode=mixed" "Restart=on-failure" "NoNewPrivileges=yes" \
            "ProtectSystem=strict" "ProtectHome=yes" "PrivateTmp=yes" "DynamicUser=yes" "CapabilityBoundingSet=" \
            "SystemCallFilter=@system-service" "DevicePolicy=closed" "DeviceAllow=char-drm rw" \
            "SupplementaryGroups=render"; do
  if grep -qx "$want" "$UNIT"; then ok "$want"; else bad "missing: $want"; fi
done
if grep -q '^PrivateDevices=yes' "$UNIT"; then bad "PrivateDevices=yes would hide the card"; else ok "card device nodes visible"; fi
if grep -q '^ExecStartPost=.*/health' "$UNIT"; then ok "ExecStartPost polls /health"; else bad "no readiness poll on /health"; fi
drain="$(sed -n 's/^FPGASERVE_DRAIN_TIMEOUT_S=//p' "$ENVFILE")"
stop="$(setting TimeoutStopSec)"
if [[ "$drain" =~ ^[0-9]+$ && "$stop" =~ ^[0-9]+$ ]] && [ "$stop" -ge $((drain + 10)) ]; then
  ok "TimeoutStopSec=$stop covers the drain timeout $drain s + 10 s"
else
  bad "TimeoutStopSec ($stop) must be at least FPGASERVE_DRAIN_TIMEOUT_S ($drain) + 10"
fi
if bad_lines="$(grep -vE '^(#.*|[[:space:]]*|(FPGASERVE_[A-Z_]+|XILINX_XRT)=[^ ]*)$' "$ENVFILE")"; then
  bad "fpgaserve.env lines that are not FPGASERVE_*=value: $bad_lines"
else
  ok "fpgaserve.env: only FPGASERVE_* variables"
fi
# Every FPGASERVE_* name in the env file, set or commented out, is an option of config/fpgaserve.json
# (FPGASERVE_<KEY>), FPGASERVE_CONFIG or FPGASERVE_MODELS_DIR: a misspelt name would be ignored.
CONFIG_JSON="$(dirname "$UNIT")/../../config/fpgaserve.json"
if [ -f "$CONFIG_JSON" ]; then
  unknown="$(python3 - "$CONFIG_JSON" "$ENVFILE" <<'PY'
import json, re, sys
known = {"FPGASERVE_" + k.upper() for k in json.load(open(sys.argv[1])) if not k.startswith("_")}
known |= {"FPGASERVE_CONFIG", "FPGASERVE_MODELS_DIR"}
names = re.findall(r"^#?(FPGASERVE_[A-Z0-9_]+)=", open(sys.argv[2]).read(), re.M)
print(" ".join(sorted(set(names) - known)))
PY
)"
  if [ -z "$unknown" ]; then ok "fpgaserve.env: every variable is a daemon option"; else bad "fpgaserve.env: unknown variables: $unknown"; fi
else
  bad "config/fpgaserve.json not found next to deploy/"
fi

# 5. the readiness poll, unescaped as systemd does ($$ -> $, \\ -> \), against a stub server
poll="$(sed -n "s/^ExecStartPost=\/bin\/bash -c '\(.*\)'$/\1/p" "$UNIT" | sed -e 's/\$\$/$/g' -e 's/\\\\/\\/g')"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"$WORK/stub.py" <<'PY'
import http.server, sys
hits = {"n": 0}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        hits["n"] += 1
        code = 200 if self.path == "/health" and hits["n"] > 2 else 503   # "loading" for two polls
        self.send_response(code); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
timeout 60 python3 "$WORK/stub.py" "$port" &
STUB_PID=$!
if [ -z "$poll" ]; then
  bad "could not extract the ExecStartPost command"
else
  t0=$(date +%s)
  if FPGASERVE_PORT=$port MAINPID=$STUB_PID timeout 20 bash -c "$poll"; then
    ok "readiness poll: waited through 503 and returned on 200 after $(($(date +%s) - t0)) s"
  else
    bad "readiness poll did not succeed against a server that turns ready"
  fi
  kill "$STUB_PID" 2>/dev/null || true
  wait "$STUB_PID" 2>/dev/null || true
  if FPGASERVE_PORT=$port MAINPID=$STUB_PID timeout 20 bash -c "$poll" 2>/dev/null; then
    bad "readiness poll succeeded although the daemon is gone"
  else
    rc=$?
    if [ "$rc" -eq 124 ]; then bad "readiness poll kept waiting for a daemon that is gone"; else ok "readiness poll fails at once when the daemon has exited"; fi
  fi
  STUB_PID=""
fi

echo "check_systemd: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

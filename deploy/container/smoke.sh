#!/usr/bin/env bash
# Container smoke test: builds the image from the work tree, starts it on a loopback port, waits for
# /health, runs one completion and one streamed chat with curl, stops it with SIGTERM (expects exit
# 0), and removes everything it made (container, image, build layers) but the cached base image.
#
# Usage: deploy/container/smoke.sh [--prepare]   (as root, or with sudo for the installs)
#   --prepare  only find or install the engine and make the base image, then stop
#
# Engine: podman or docker, the first whose `info` answers (a docker client without an engine does
# not count); when neither works it installs podman from Debian (deploy/install-deps.sh container).
# Base image: $FPGASERVE_SMOKE_BASE when set, else debian:bookworm when already in local storage,
# else localhost/fpgaserve-base:bookworm, made once with debootstrap from this machine's apt mirror
# and kept (the rootfs tarball in $FPGASERVE_SMOKE_CACHE, the image in the engine's storage).
# It never contacts an image registry.
#
# Environment: FPGASERVE_CONTAINER_ENGINE (podman|docker), FPGASERVE_SMOKE_BASE,
#   FPGASERVE_SMOKE_CACHE (default ~/.cache/fpgaserve), FPGASERVE_SMOKE_PORT (default: a free one),
#   FPGASERVE_SMOKE_TIMEOUT (seconds for the whole test, default 1800).
# Every step runs under `timeout` against one deadline, and an EXIT trap cleans up, so the script
# always stops by itself. The last line says PASS or FAIL.
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
START=$(date +%s)
DEADLINE=$((START + ${FPGASERVE_SMOKE_TIMEOUT:-1800}))
CACHE="${FPGASERVE_SMOKE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fpgaserve}"
LOCAL_BASE="localhost/fpgaserve-base:bookworm"
RUN_ID="$$-$START"
IMAGE="localhost/fpgaserve-smoke:$RUN_ID"
NAME="fpgaserve-smoke-$RUN_ID"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/fpgaserve-smoke.XXXXXX")"
ENGINE=""
ENGINE_FLAGS=()
ULIMITS=()
DANGLING_BEFORE="$WORK/dangling-before"
FAILED_AT=""
PREPARE_ONLY=0
case "${1:-}" in
  "") ;;
  --prepare) PREPARE_ONLY=1 ;;
  *) echo "usage: $0 [--prepare]" >&2; exit 2 ;;
esac

log() { printf 'smoke: %s\n' "$*" >&2; }
elapsed() { echo $(($(date +%s) - START)); }
# Seconds left before the deadline, capped at $1: the timeout of the next step.
left() {
  local rest=$((DEADLINE - $(date +%s)))
  [ "$rest" -lt 1 ] && rest=1
  [ "$rest" -gt "$1" ] && rest=$1
  echo "$rest"
}
fail() {
  FAILED_AT="$*"
  exit 1
}
eng() { "$ENGINE" "${ENGINE_FLAGS[@]}" "$@"; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$ENGINE" ]; then
    if [ "$rc" -ne 0 ] && eng inspect "$NAME" >/dev/null 2>&1; then
      log "container log (last 40 lines):"
      timeout 20 "$ENGINE" "${ENGINE_FLAGS[@]}" logs --tail 40 "$NAME" >&2 2>&1 || true
    fi
    timeout 60 "$ENGINE" "${ENGINE_FLAGS[@]}" rm -f -t 0 "$NAME" >/dev/null 2>&1 ||
      timeout 60 "$ENGINE" "${ENGINE_FLAGS[@]}" rm -f "$NAME" >/dev/null 2>&1 || true
    timeout 120 "$ENGINE" "${ENGINE_FLAGS[@]}" rmi -f "$IMAGE" >/dev/null 2>&1 || true
    # Build layers this run left behind (untagged images that were not there before it).
    if [ -f "$DANGLING_BEFORE" ]; then
      local id
      for id in $(timeout 60 "$ENGINE" "${ENGINE_FLAGS[@]}" images -q -f dangling=true 2>/dev/null | sort -u); do
        grep -qx "$id" "$DANGLING_BEFORE" ||
          timeout 60 "$ENGINE" "${ENGINE_FLAGS[@]}" rmi -f "$id" >/dev/null 2>&1 || true
      done
    fi
  fi
  rm -rf "$WORK"
  if [ "$rc" -eq 0 ] && [ "$PREPARE_ONLY" = 1 ]; then
    echo "smoke: prepared in $(elapsed)s (engine $ENGINE, base $BASE)"
  elif [ "$rc" -eq 0 ]; then
    echo "smoke: PASS in $(elapsed)s (engine $ENGINE, base $BASE)"
  else
    echo "smoke: FAIL after $(elapsed)s: ${FAILED_AT:-exit code $rc}"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'FAILED_AT="${FAILED_AT:-line $LINENO: $BASH_COMMAND}"' ERR
trap 'FAILED_AT="interrupted"; exit 130' INT TERM

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ---- engine -----------------------------------------------------------------------------------
podman_flags() {
  ENGINE_FLAGS=()
  # runc: the OCI runtime that works in this kind of sandbox (Debian's podman would pick crun first).
  command -v runc >/dev/null && ENGINE_FLAGS+=(--runtime runc)
  # No systemd as PID 1: cgroups through cgroupfs, events to a file instead of journald.
  if [ ! -d /run/systemd/system ]; then
    ENGINE_FLAGS+=(--cgroup-manager cgroupfs --events-backend file)
  fi
  [ -n "${1:-}" ] && ENGINE_FLAGS+=(--storage-driver "$1")
  return 0
}

engine_works() {
  case "$1" in
    podman)
      command -v podman >/dev/null || return 1
      podman_flags ""
      if timeout 60 podman "${ENGINE_FLAGS[@]}" info >/dev/null 2>&1; then return 0; fi
      podman_flags vfs
      timeout 60 podman "${ENGINE_FLAGS[@]}" info >/dev/null 2>&1
      ;;
    docker)
      command -v docker >/dev/null || return 1
      ENGINE_FLAGS=()
      # `docker info` exits non-zero when the client finds no engine behind its socket.
      timeout 20 docker info >/dev/null 2>&1
      ;;
    *) return 1 ;;
  esac
}

pick_engine() {
  local candidates=(podman docker)
  [ -n "${FPGASERVE_CONTAINER_ENGINE:-}" ] && candidates=("$FPGASERVE_CONTAINER_ENGINE")
  local e
  for e in "${candidates[@]}"; do
    if engine_works "$e"; then ENGINE=$e; return 0; fi
    log "$e: not usable here"
  done
  log "no working container engine: installing podman (deploy/install-deps.sh container)"
  timeout "$(left 900)" "$ROOT/deploy/install-deps.sh" container || fail "could not install podman"
  engine_works podman || fail "podman installed but 'podman info' fails"
  ENGINE=podman
}

# ---- base image -------------------------------------------------------------------------------
# The Debian mirror this machine's apt uses (one-line and deb822 sources), for debootstrap.
apt_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) { u = $i; s = $(i + 1); break }
                       if (s ~ /^bookworm(-updates)?$/ && u !~ /security/) { print u; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'function flush() { if (uri != "" && suites ~ /(^| )bookworm( |$)/ && uri !~ /security/) { print uri; found = 1 }
                            uri = ""; suites = "" }
         /^[[:space:]]*$/ { flush(); if (found) exit; next }
         tolower($1) == "uris:" { uri = $2 }
         tolower($1) == "suites:" { $1 = ""; suites = $0; sub(/^ /, "", suites) }
         END { if (!found) flush() }' "$f"
  done
}

security_mirror() {
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -v '^[[:space:]]*#' | grep -oE 'https?://[^ ]*debian-security[^ ]*' | head -n 1
}

make_local_base() {
  local tarball="$CACHE/debian-bookworm-rootfs.tar.gz"
  if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null ||
      timeout "$(left 900)" "$ROOT/deploy/install-deps.sh" container || fail "could not install debootstrap"
    local mirror security
    mirror="$(apt_mirror | head -n 1 || true)"
    # The mirror comes from this machine's apt configuration only: the repository names no package host.
    [ -n "$mirror" ] || fail "no Debian bookworm mirror is configured in /etc/apt/sources.list or" \
      "/etc/apt/sources.list.d: the container's base image is made with debootstrap from the mirror apt uses"
    security="$(security_mirror || true)"
    log "making the base image with debootstrap from $mirror (once; cached in $CACHE)"
    mkdir -p "$CACHE"
    local root="$WORK/rootfs"
    timeout "$(left 1200)" debootstrap --variant=minbase bookworm "$root" "$mirror" >"$WORK/debootstrap.log" 2>&1 || {
      tail -n 20 "$WORK/debootstrap.log" >&2
      fail "debootstrap from $mirror failed"
    }
    {
      echo "deb $mirror bookworm main"
      echo "deb $mirror bookworm-updates main"
      [ -n "$security" ] && echo "deb $security bookworm-security main"
    } >"$root/etc/apt/sources.list"
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log
    tar -C "$root" --numeric-owner -czf "$tarball.part" . && mv "$tarball.part" "$tarball"
    rm -rf "$root"
  fi
  log "importing $tarball as $LOCAL_BASE"
  timeout "$(left 600)" "$ENGINE" "${ENGINE_FLAGS[@]}" import "$tarball" "$LOCAL_BASE" >"$WORK/import.log" 2>&1 ||
    fail "could not import the base image"
}

pick_base() {
  if [ -n "${FPGASERVE_SMOKE_BASE:-}" ]; then
    BASE=$FPGASERVE_SMOKE_BASE
  elif eng image inspect debian:bookworm >/dev/null 2>&1; then
    BASE=debian:bookworm
  else
    BASE=$LOCAL_BASE
    if ! eng image inspect "$LOCAL_BASE" >/dev/null 2>&1; then make_local_base; fi
  fi
}

# ---- main -------------------------------------------------------------------------------------
BASE="?"
command -v curl >/dev/null || fail "curl is missing"
command -v python3 >/dev/null || fail "python3 is missing"
pick_engine
log "engine: $ENGINE ${ENGINE_FLAGS[*]}"
pick_base
log "base image: $BASE"
if [ "$PREPARE_ONLY" = 1 ]; then exit 0; fi

# Ulimits passed explicitly: the engines' defaults (nofile 1048576, nproc 4194304) are above what an
# unprivileged sandbox lets runc set. Stay within this shell's hard limits.
cap() { if [ "$1" = unlimited ] || [ "$1" -gt "$2" ]; then echo "$2"; else echo "$1"; fi; }
NOFILE=$(cap "$(ulimit -Hn)" 65536)
NPROC=$(cap "$(ulimit -Hu)" 32768)
ULIMITS=(--ulimit "nofile=$NOFILE:$NOFILE" --ulimit "nproc=$NPROC:$NPROC")

eng images -q -f dangling=true 2>/dev/null | sort -u >"$DANGLING_BEFORE" || true
build_flags=(--network host "${ULIMITS[@]}" --build-arg "BASE=$BASE" -t "$IMAGE" -f "$ROOT/Dockerfile")
# Podman: docker format keeps HEALTHCHECK; no layer cache, so nothing of the build is left behind.
[ "$ENGINE" = podman ] && build_flags+=(--format docker --layers=false)
log "building $IMAGE (log: kept on failure)"
t0=$(date +%s)
if ! timeout "$(left 1500)" "$ENGINE" "${ENGINE_FLAGS[@]}" build "${build_flags[@]}" "$ROOT" >"$WORK/build.log" 2>&1; then
  grep -E 'error|Error|ERROR' "$WORK/build.log" | head -n 20 >&2 || true
  tail -n 30 "$WORK/build.log" >&2
  fail "image build failed"
fi
log "image built in $(($(date +%s) - t0))s; runtime packages: $(grep -m1 '^runtime packages:' "$WORK/build.log" | cut -d: -f2)"

run_once() { timeout "$(left 120)" "$ENGINE" "${ENGINE_FLAGS[@]}" run --rm --network none --no-healthcheck "${ULIMITS[@]}" "$@"; }
version="$(run_once "$IMAGE" --version 2>&1)" || fail "fpgaserve --version failed in the container: $version"
log "in the container: $version"
model=/usr/share/fpgaserve/models/austen-1m-q8.bin
run_once "$IMAGE" model info "$model" >"$WORK/model-info.txt" 2>&1 || {
  cat "$WORK/model-info.txt" >&2
  fail "fpgaserve model info $model failed in the container"
}
log "bundled model: $(grep -m1 -i 'parameters' "$WORK/model-info.txt" | tr -s ' ')"

# ---- the daemon ---------------------------------------------------------------------------------
PORT="${FPGASERVE_SMOKE_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
URL="http://127.0.0.1:$PORT"
# Host networking, listening on loopback only; the port through FPGASERVE_PORT as users would set it.
run_flags=(-d --name "$NAME" --network host "${ULIMITS[@]}" -e "FPGASERVE_PORT=$PORT")
log "starting the daemon on $URL"
# (Podman logs that it cannot make systemd timers for the health check here: harmless, kept out of sight.)
timeout "$(left 120)" "$ENGINE" "${ENGINE_FLAGS[@]}" run "${run_flags[@]}" "$IMAGE" serve --host 127.0.0.1 \
  >"$WORK/run.log" 2>&1 || { cat "$WORK/run.log" >&2; fail "could not start the container"; }

health_deadline=$(($(date +%s) + $(left 180)))
code=000
while [ "$(date +%s)" -lt "$health_deadline" ]; do
  running="$(eng inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null || echo false)"
  [ "$running" = true ] || fail "the daemon exited before it was ready"
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/health" || true)"
  [ "$code" = 200 ] && break
  sleep 1
done
[ "$code" = 200 ] || fail "/health did not answer 200 in time (last: $code)"
log "ready after $(elapsed)s in all"

if [ "$ENGINE" = podman ]; then
  # The image's own HEALTHCHECK command, run inside the container (no systemd timers here).
  timeout "$(left 60)" podman "${ENGINE_FLAGS[@]}" healthcheck run "$NAME" >/dev/null 2>&1 ||
    fail "the image's HEALTHCHECK reports unhealthy while /health answers 200"
  log "HEALTHCHECK: healthy"
fi

model_id="$(curl -sS --max-time 10 "$URL/v1/models" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["data"][0]["id"])')" || fail "GET /v1/models failed"
log "model id: $model_id"

curl -sS --max-time "$(left 120)" "$URL/v1/completions" -H 'Content-Type: application/json' \
  -d "{\"model\":\"$model_id\",\"prompt\":\"It is a truth universally acknowledged\",\"max_tokens\":16,\"seed\":1}" \
  >"$WORK/completion.json" || fail "POST /v1/completions failed"
python3 - "$WORK/completion.json" <<'PY' || fail "bad completion response: $(head -c 400 "$WORK/completion.json")"
import json, sys
r = json.load(open(sys.argv[1]))
text = r["choices"][0]["text"]
assert r["object"] == "text_completion" and isinstance(text, str) and text, r
print("smoke: completion:", repr(text[:80]), file=sys.stderr)
PY

curl -sS -N --max-time "$(left 120)" "$URL/v1/chat/completions" -H 'Content-Type: application/json' \
  -d "{\"model\":\"$model_id\",\"messages\":[{\"role\":\"user\",\"content\":\"Who is Mr. Darcy?\"}],\"max_tokens\":16,\"stream\":true}" \
  >"$WORK/chat.sse" || fail "streamed POST /v1/chat/completions failed"
python3 - "$WORK/chat.sse" <<'PY' || fail "bad chat stream: $(head -c 400 "$WORK/chat.sse")"
import json, sys
lines = [l.strip() for l in open(sys.argv[1]) if l.startswith("data:")]
assert lines and lines[-1] == "data: [DONE]", lines[-3:]
chunks = [json.loads(l[5:]) for l in lines[:-1]]
assert all(c["object"] == "chat.completion.chunk" for c in chunks), chunks[:2]
text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
assert text, chunks[:3]
print("smoke: chat stream: %d chunks, %r" % (len(chunks), text[:80]), file=sys.stderr)
PY

# SIGTERM: the daemon drains and exits 0 well within the stop timeout.
timeout "$(left 90)" "$ENGINE" "${ENGINE_FLAGS[@]}" stop -t 60 "$NAME" >"$WORK/stop.log" 2>&1 || {
  cat "$WORK/stop.log" >&2
  fail "could not stop the container"
}
exit_code="$(eng inspect -f '{{.State.ExitCode}}' "$NAME")"
[ "$exit_code" = 0 ] || fail "the daemon exited with $exit_code after SIGTERM (expected 0)"
log "stopped with SIGTERM: exit code 0"

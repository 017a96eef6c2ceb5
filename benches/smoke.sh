#!/usr/bin/env bash
# Smoke test of the benchmark programs (a check that they work, not a
# timing): builds them, starts each server on a free loopback port, runs
# each load generator against it for about a second, checks the JSON line
# reports calls and errors=0, then stops the servers with SIGTERM and
# checks they exit cleanly.
#
#   benches/smoke.sh            debug build (what CI runs)
#   PROFILE=release benches/smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${PROFILE:-debug}
flag=()
[ "$profile" = release ] && flag=(--release)
cargo build -p benches --bins --benches "${flag[@]}"
bin="${CARGO_TARGET_DIR:-target}/$profile"

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

# start NAME ARGS...: starts a server on 127.0.0.1:0, sets $port.
start() {
    local name=$1
    shift
    "$bin/$name" --addr 127.0.0.1:0 "$@" 2>"$work/$name.log" &
    local pid=$!
    pids+=("$pid")
    port=""
    for _ in $(seq 100); do
        port=$(sed -n 's/.* listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/$name.log")
        [ -n "$port" ] && break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        bad "$name $* did not start: $(cat "$work/$name.log")"
        exit 1
    fi
    server_pid=$pid
}

# load LOADGEN PORT ARGS...: one short run; checks the JSON line.
load() {
    local loadgen=$1 port=$2
    shift 2
    local out
    if ! out=$(timeout 30 "$bin/$loadgen" --addr "127.0.0.1:$port" --duration 1 --warmup 0.2 \
        --concurrency 4 --connections 2 "$@" 2>"$work/load.err"); then
        bad "$loadgen $* exited with an error: $(cat "$work/load.err")"
        return
    fi
    if [[ "$out" == *'"errors":0}'* && "$out" != *'"calls":0,'* ]]; then
        ok "$loadgen -> :$port $*"
    else
        bad "$loadgen -> :$port $*: $out $(cat "$work/load.err")"
    fi
}

# stop PID NAME: SIGTERM, then a clean exit within 10 s.
stop() {
    local pid=$1 name=$2
    kill -TERM "$pid"
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        bad "$name did not exit within 10 s of SIGTERM"
    elif wait "$pid"; then
        ok "$name exits cleanly on SIGTERM"
    else
        bad "$name exited with status $? on SIGTERM"
    fi
}

for server in "bench-server --stack default" "bench-server --stack bare" tonic-bench-server; do
    # shellcheck disable=SC2086
    start $server
    for loadgen in bench-loadgen tonic-bench-loadgen; do
        load "$loadgen" "$port" --mode unary --payload complex
        load "$loadgen" "$port" --mode stream --payload 1024 --stream-msgs 5
    done
    stop "$server_pid" "$server"
done

# The optional layers `compare.sh --only layers` measures.
for extra in otel otel-on auth-open auth load-shed; do
    start bench-server --stack default --with "$extra"
    token=()
    [ "$extra" = auth ] && token=(--bearer bench-token-0123456789abcdef)
    load bench-loadgen "$port" --mode unary --payload complex "${token[@]}"
    load bench-loadgen "$port" --mode stream --payload 1024 --stream-msgs 5 "${token[@]}"
    stop "$server_pid" "bench-server --with $extra"
done

start hyper-ceiling-server
for loadgen in bench-loadgen tonic-bench-loadgen; do
    load "$loadgen" "$port" --mode unary --payload complex
done
stop "$server_pid" hyper-ceiling-server

echo "smoke: $passed passed, $failed failed"
[ "$failed" = 0 ]

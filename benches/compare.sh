#!/usr/bin/env bash
# Our gRPC stack side by side with tonic 0.14 and a bare hyper HTTP/2 server,
# on loopback. From a fresh clone:
#
#   benches/compare.sh                  # everything, 5 rounds of 3 s (~25 min)
#   benches/compare.sh --quick          # 2 rounds of 1 s, small callgrind runs
#   benches/compare.sh --rounds 7 --duration 5 --only throughput
#
# Options: --rounds N (>= 1; default 5), --duration S (default 3),
# --warmup S (default 1), --only throughput|callgrind|layers, --out DIR
# (default target/compare/<UTC time>). SERVER_CPU / LOAD_CPU pick the cores
# (default 0 and 1).
#
# What it does (results in DIR/results.tsv, the summary in DIR/summary.md,
# also printed):
#
# 1. Builds the release programs of the `benches` package, and installs
#    h2load (Debian's nghttp2-client) and valgrind when missing and running
#    as root.
# 2. Throughput. Servers on SERVER_CPU (`taskset`, so each runs one tokio
#    worker), load on LOAD_CPU. Scenarios: unary c=1; unary c=64 on 1 and on
#    4 connections; 1000 calls in flight over 50 connections (p99); server
#    streaming of 1 KiB and of 64 KiB messages.
#    - alternating: one server after the other under the same load, for
#      absolute figures (this machine's loopback speed drifts 20-40 % within
#      seconds, so ratios from these are only good to about +-20 %);
#    - race: A and B at the same time on the same core under identical
#      simultaneous load, for ratios (the drift cancels; A vs A lands
#      within +-3 %).
#    Load comes from h2load (neutral) and from our bench-loadgen (which
#    also gives latency percentiles). The clients are compared the same
#    way: bench-loadgen against tonic-bench-loadgen, racing on LOAD_CPU
#    against two hyper ceiling servers on SERVER_CPU.
# 3. Instructions per call under callgrind, (I(n2) - I(n1)) / (n2 - n1) so
#    start-up cancels, for each server and both clients; heap allocations per
#    call the same way under valgrind's DHAT; peak RSS (VmHWM) of each server
#    after all the throughput runs.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=5
duration=3
warmup=1
only=all
out=""
cg_n1=2000
cg_n2=6000
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --quick) rounds=2; duration=1; warmup=0.5; cg_n1=300; cg_n2=900; shift ;;
    -h | --help) sed -n '2,38p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ "$rounds" -ge 1 ] || { echo "--rounds must be at least 1" >&2; exit 2; }
server_cpu=${SERVER_CPU:-0}
load_cpu=${LOAD_CPU:-1}
out=${out:-target/compare/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
tsv="$out/results.tsv"
: >"$tsv"

step() { printf '\n==> %s\n' "$*" >&2; }

step "building the benchmark programs (release)"
cargo build --release -p benches --bins
bin="${CARGO_TARGET_DIR:-target}/release"

# Debian packages this needs: h2load (nghttp2-client) and valgrind.
missing=()
command -v h2load >/dev/null || missing+=(nghttp2-client)
command -v valgrind >/dev/null || missing+=(valgrind)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        step "installing ${missing[*]}"
        apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "missing: apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi
for tool in taskset valgrind python3; do
    command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
done

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# start VAR CPU PROGRAM ARGS...: starts a server on a free port pinned to
# CPU (or unpinned when CPU is "-"); sets VAR_port and VAR_pid.
start() {
    local var=$1 cpu=$2
    shift 2
    local log="$out/server.$var.log"
    if [ "$cpu" = - ]; then
        "$@" --addr 127.0.0.1:0 2>"$log" &
    else
        taskset -c "$cpu" "$@" --addr 127.0.0.1:0 2>"$log" &
    fi
    local pid=$! port=""
    pids+=("$pid")
    for _ in $(seq 300); do
        port=$(sed -n 's/.* listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { echo "$* did not start: $(cat "$log")" >&2; exit 1; }
    printf -v "${var}_port" '%s' "$port"
    printf -v "${var}_pid" '%s' "$pid"
}

# stop PID: SIGTERM and wait (bounded) for the exit.
stop() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 600); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Scenarios: name mode concurrency connections payload stream_msgs
scenarios=(
    "unary_c1 unary 1 1 complex 0"
    "unary_c64_1conn unary 64 1 complex 0"
    "unary_c64_4conn unary 64 4 complex 0"
    "overload_1000x50 unary 1000 50 complex 0"
    "stream_1KiB stream 8 1 1024 1000"
    "stream_64KiB stream 8 1 65536 100"
)

# Framed request bodies for h2load, written by the load generator itself.
"$bin/bench-loadgen" --mode unary --payload complex --dump-request "$out/unary.bin"
"$bin/bench-loadgen" --mode stream --payload 1024 --stream-msgs 1000 --dump-request "$out/stream_1KiB.bin"
"$bin/bench-loadgen" --mode stream --payload 65536 --stream-msgs 100 --dump-request "$out/stream_64KiB.bin"

# h2load_run PORT SCENARIO...: one timed h2load run on LOAD_CPU; prints a JSON line.
h2load_run() {
    local port=$1 name=$2 mode=$3 conc=$4 conns=$5 payload=$6 msgs=$7
    local data path per_call=0
    if [ "$mode" = unary ]; then
        data="$out/unary.bin"
        path=/helloworld.Greeter/SayHello
    else
        data="$out/$name.bin"
        path=/benchstream.Streamer/Download
        per_call=$((payload * msgs))
    fi
    local streams=$(((conc + conns - 1) / conns))
    local text
    # h2load takes whole units: give it milliseconds.
    local d_ms w_ms
    d_ms=$(python3 -c "print(int(float('$duration') * 1000))")
    w_ms=$(python3 -c "print(int(float('$warmup') * 1000))")
    text=$(taskset -c "$load_cpu" h2load -D "${d_ms}ms" --warm-up-time="${w_ms}ms" \
        -c "$conns" -m "$streams" -d "$data" \
        -H 'content-type: application/grpc' -H 'te: trailers' \
        "http://127.0.0.1:$port$path" 2>&1) || true
    python3 - "$per_call" "$text" <<'PY'
import re, sys, json
per_call, text = int(sys.argv[1]), sys.argv[2]
m = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", text)
r = re.search(r"(\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", text)
s = re.search(r"status codes: (\d+) 2xx", text)
if not (m and r):
    print(json.dumps({"rps": 0, "mb_per_s": 0, "errors": -1, "raw": text[-300:]}))
else:
    rps = float(m.group(1))
    errors = sum(int(x) for x in r.groups()[1:])
    # A streamed response whose head arrived before the run ended counts
    # as 2xx without having succeeded yet; fewer 2xx than successes is wrong.
    if s and int(s.group(1)) < int(r.group(1)):
        errors += 1
    print(json.dumps({"rps": rps, "mb_per_s": rps * per_call / 1e6, "errors": errors}))
PY
}

# loadgen_run PROGRAM PORT SCENARIO...: one timed load-generator run on LOAD_CPU.
loadgen_run() {
    local program=$1 port=$2 name=$3 mode=$4 conc=$5 conns=$6 payload=$7 msgs=$8
    local extra=()
    [ "$mode" = stream ] && extra=(--stream-msgs "$msgs")
    taskset -c "$load_cpu" "$bin/$program" --addr "127.0.0.1:$port" --mode "$mode" \
        --concurrency "$conc" --connections "$conns" --duration "$duration" \
        --warmup "$warmup" --payload "$payload" "${extra[@]}" 2>>"$out/loadgen.err" ||
        echo '{"rps":0,"mb_per_s":0,"errors":-1}'
}

# record KIND SCENARIO TOOL IMPL ROUND JSON
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$tsv"; }

# race TOOL SCENARIO ROUND IMPL_A PORT_A IMPL_B PORT_B: both at once.
race() {
    local tool=$1 sc=$2 round=$3 a=$4 pa=$5 b=$6 pb=$7
    local fa="$out/race.a" fb="$out/race.b"
    # shellcheck disable=SC2086
    if [ "$tool" = h2load ]; then
        h2load_run "$pa" $sc >"$fa" &
        local ja=$!
        h2load_run "$pb" $sc >"$fb" &
    else
        loadgen_run bench-loadgen "$pa" $sc >"$fa" &
        local ja=$!
        loadgen_run bench-loadgen "$pb" $sc >"$fb" &
    fi
    local jb=$!
    wait "$ja" "$jb"
    record race "${sc%% *}" "$tool" "$a-vs-$b:$a" "$round" "$(cat "$fa")"
    record race "${sc%% *}" "$tool" "$a-vs-$b:$b" "$round" "$(cat "$fb")"
}

throughput() {
    step "throughput: servers on CPU $server_cpu, load on CPU $load_cpu, $rounds rounds of ${duration}s"
    start ours "$server_cpu" "$bin/bench-server" --stack default
    start bare "$server_cpu" "$bin/bench-server" --stack bare
    start tonic "$server_cpu" "$bin/tonic-bench-server"
    start ceiling "$server_cpu" "$bin/hyper-ceiling-server"
    for round in $(seq "$rounds"); do
        for sc in "${scenarios[@]}"; do
            # shellcheck disable=SC2086
            set -- $sc
            local name=$1 mode=$2
            step "round $round/$rounds: $name"
            # Alternating, for absolute figures; the order flips each round.
            local order=(ours tonic bare ceiling)
            [ $((round % 2)) = 0 ] && order=(ceiling bare tonic ours)
            for impl in "${order[@]}"; do
                [ "$impl" = ceiling ] && [ "$mode" = stream ] && continue
                local port_var="${impl}_port"
                record alt "$name" h2load "$impl" "$round" "$(h2load_run "${!port_var}" $sc)"
                if [ "$impl" = ours ] || [ "$impl" = tonic ]; then
                    record alt "$name" loadgen "$impl" "$round" \
                        "$(loadgen_run bench-loadgen "${!port_var}" $sc)"
                fi
            done
            # Races, for ratios.
            race h2load "$sc" "$round" ours "$ours_port" tonic "$tonic_port"
            if [ "$name" = overload_1000x50 ]; then
                race loadgen "$sc" "$round" ours "$ours_port" tonic "$tonic_port"
            fi
            if [ "$mode" = unary ] && [ "$name" != overload_1000x50 ]; then
                race h2load "$sc" "$round" bare "$bare_port" ceiling "$ceiling_port"
            fi
            if [ "$name" = unary_c64_1conn ]; then
                race h2load "$sc" "$round" ours "$ours_port" bare "$bare_port"
            fi
        done
    done
    for impl in ours bare tonic ceiling; do
        local pid_var="${impl}_pid"
        local hwm
        hwm=$(awk '/VmHWM/ {print $2}' "/proc/${!pid_var}/status")
        record rss all - "$impl" 0 "{\"peak_rss_kib\":$hwm}"
        stop "${!pid_var}"
    done

    step "clients: bench-loadgen vs tonic-bench-loadgen on CPU $load_cpu, two ceiling servers on CPU $server_cpu"
    start ceil_a "$server_cpu" "$bin/hyper-ceiling-server"
    start ceil_b "$server_cpu" "$bin/hyper-ceiling-server"
    for round in $(seq "$rounds"); do
        for sc in "${scenarios[@]:0:2}"; do
            # shellcheck disable=SC2086
            set -- $sc
            local name=$1
            record client-alt "$name" loadgen ours "$round" "$(loadgen_run bench-loadgen "$ceil_a_port" $sc)"
            record client-alt "$name" loadgen tonic "$round" "$(loadgen_run tonic-bench-loadgen "$ceil_b_port" $sc)"
            local fa="$out/race.a" fb="$out/race.b"
            loadgen_run bench-loadgen "$ceil_a_port" $sc >"$fa" &
            local ja=$!
            loadgen_run tonic-bench-loadgen "$ceil_b_port" $sc >"$fb" &
            local jb=$!
            wait "$ja" "$jb"
            record client-race "$name" loadgen "ours-vs-tonic:ours" "$round" "$(cat "$fa")"
            record client-race "$name" loadgen "ours-vs-tonic:tonic" "$round" "$(cat "$fb")"
        done
    done
    stop "$ceil_a_pid"
    stop "$ceil_b_pid"
}

# collected LOG: the instruction (or block) count valgrind printed.
collected() {
    sed -n 's/^==[0-9]*== Collected : \([0-9]*\).*/\1/p' "$1" | tail -1
}
blocks() {
    sed -n 's/^==[0-9]*== Total: *[0-9,]* bytes in \([0-9,]*\) blocks.*/\1/p' "$1" | tr -d , | tail -1
}

# valgrind_server TOOL IMPL N CONC PROGRAM ARGS...: the server under valgrind
# (pinned to SERVER_CPU: one worker), N calls from a native bench-loadgen;
# prints the count.
valgrind_server() {
    local tool=$1 impl=$2 n=$3 conc=$4
    shift 4
    local log="$out/$tool.server.$impl.c$conc.n$n.log"
    local extra=(--callgrind-out-file="$out/callgrind.server.$impl.c$conc.n$n.out")
    [ "$tool" = dhat ] && extra=(--dhat-out-file=/dev/null)
    start vg "$server_cpu" valgrind --tool="$tool" "${extra[@]}" "$@"
    mv "$out/server.vg.log" "$log"
    # valgrind keeps writing to the moved file (same inode).
    taskset -c "$load_cpu" "$bin/bench-loadgen" --addr "127.0.0.1:$vg_port" \
        --requests "$n" --concurrency "$conc" ${load_flags:-} \
        >>"$out/valgrind.loads.jsonl" 2>>"$out/loadgen.err"
    stop "$vg_pid"
    if [ "$tool" = dhat ]; then blocks "$log"; else collected "$log"; fi
}

# valgrind_client TOOL IMPL N CONC PORT: the load generator under valgrind.
valgrind_client() {
    local tool=$1 impl=$2 n=$3 conc=$4 port=$5
    local program=bench-loadgen
    [ "$impl" = tonic ] && program=tonic-bench-loadgen
    local log="$out/$tool.client.$impl.c$conc.n$n.log"
    local extra=(--callgrind-out-file="$out/callgrind.client.$impl.c$conc.n$n.out")
    [ "$tool" = dhat ] && extra=(--dhat-out-file=/dev/null)
    taskset -c "$load_cpu" valgrind --tool="$tool" "${extra[@]}" "$bin/$program" \
        --addr "127.0.0.1:$port" --requests "$n" --concurrency "$conc" \
        >>"$out/valgrind.loads.jsonl" 2>"$log"
    if [ "$tool" = dhat ]; then blocks "$log"; else collected "$log"; fi
}

per_call() {
    python3 -c 'import sys; a,b,n1,n2=map(float,sys.argv[1:]); print(round((b-a)/(n2-n1),1))' "$@"
}

callgrind() {
    step "instructions and allocations per call under valgrind (n1=$cg_n1, n2=$cg_n2)"
    local servers=("ours:bench-server --stack default" "bare:bench-server --stack bare"
        "tonic:tonic-bench-server" "ceiling:hyper-ceiling-server")
    for conc in 1 64; do
        for entry in "${servers[@]}"; do
            local impl=${entry%%:*} cmd=${entry#*:}
            # shellcheck disable=SC2086
            local i1 i2
            i1=$(valgrind_server callgrind "$impl" "$cg_n1" "$conc" "$bin"/$cmd)
            # shellcheck disable=SC2086
            i2=$(valgrind_server callgrind "$impl" "$cg_n2" "$conc" "$bin"/$cmd)
            record callgrind-server "unary_c$conc" - "$impl" 0 \
                "{\"instr_per_call\":$(per_call "$i1" "$i2" "$cg_n1" "$cg_n2"),\"i1\":$i1,\"i2\":$i2}"
            step "server $impl c=$conc: $(tail -1 "$tsv" | cut -f6)"
        done
    done
    for entry in "${servers[@]:0:3}"; do
        local impl=${entry%%:*} cmd=${entry#*:}
        local b1 b2
        # shellcheck disable=SC2086
        b1=$(valgrind_server dhat "$impl" "$cg_n1" 1 "$bin"/$cmd)
        # shellcheck disable=SC2086
        b2=$(valgrind_server dhat "$impl" "$cg_n2" 1 "$bin"/$cmd)
        record dhat-server unary_c1 - "$impl" 0 \
            "{\"allocs_per_call\":$(per_call "$b1" "$b2" "$cg_n1" "$cg_n2"),\"b1\":$b1,\"b2\":$b2}"
        step "server $impl allocations: $(tail -1 "$tsv" | cut -f6)"
    done
    start native "$server_cpu" "$bin/hyper-ceiling-server"
    for conc in 1 64; do
        for impl in ours tonic; do
            local i1 i2
            i1=$(valgrind_client callgrind "$impl" "$cg_n1" "$conc" "$native_port")
            i2=$(valgrind_client callgrind "$impl" "$cg_n2" "$conc" "$native_port")
            record callgrind-client "unary_c$conc" - "$impl" 0 \
                "{\"instr_per_call\":$(per_call "$i1" "$i2" "$cg_n1" "$cg_n2"),\"i1\":$i1,\"i2\":$i2}"
            step "client $impl c=$conc: $(tail -1 "$tsv" | cut -f6)"
        done
    done
    for impl in ours tonic; do
        local b1 b2
        b1=$(valgrind_client dhat "$impl" "$cg_n1" 1 "$native_port")
        b2=$(valgrind_client dhat "$impl" "$cg_n2" 1 "$native_port")
        record dhat-client unary_c1 - "$impl" 0 \
            "{\"allocs_per_call\":$(per_call "$b1" "$b2" "$cg_n1" "$cg_n2"),\"b1\":$b1,\"b2\":$b2}"
    done
    stop "$native_pid"
}

# 4. (--only layers, not part of the default run) what each optional layer
#    costs: server instructions per unary call at c=1 with the layer added
#    to the default stack (bench-server --with: telemetry outermost, auth
#    and load shedding where grpc_server::stack places them), against the
#    default stack alone and the bare router; load-shed-all is a refused
#    call.
layers() {
    step "per-layer cost: server instructions per unary call (n1=$cg_n1, n2=$cg_n2, c=1)"
    local variants=("default:--stack default" "bare:--stack bare"
        "otel:--stack default --with otel"
        "otel-sampled-out:--stack default --with otel-sampled-out"
        "otel-on:--stack default --with otel-on"
        "auth-open:--stack default --with auth-open"
        "auth:--stack default --with auth"
        "load-shed:--stack default --with load-shed"
        "load-shed-all:--stack default --with load-shed-all")
    for entry in "${variants[@]}"; do
        local name=${entry%%:*} flags=${entry#*:}
        local i1 i2
        # The auth variant's calls carry the token it checks.
        load_flags=""
        [ "$name" = auth ] && load_flags="--bearer bench-token-0123456789abcdef"
        # shellcheck disable=SC2086
        i1=$(valgrind_server callgrind "layer-$name" "$cg_n1" 1 "$bin"/bench-server $flags)
        # shellcheck disable=SC2086
        i2=$(valgrind_server callgrind "layer-$name" "$cg_n2" 1 "$bin"/bench-server $flags)
        record layers-server unary_c1 - "$name" 0 \
            "{\"instr_per_call\":$(per_call "$i1" "$i2" "$cg_n1" "$cg_n2"),\"i1\":$i1,\"i2\":$i2}"
        step "server $name: $(tail -1 "$tsv" | cut -f6)"
    done
    load_flags=""
}

case "$only" in
all) throughput; callgrind ;;
throughput) throughput ;;
callgrind) callgrind ;;
layers) layers ;;
*) echo "--only takes throughput, callgrind or layers" >&2; exit 2 ;;
esac

{
    echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(uname -sr)"
    echo "Command: benches/compare.sh --rounds $rounds --duration $duration --warmup $warmup --only $only"
    echo
    python3 benches/summarize.py "$tsv"
} | tee "$out/summary.md"
echo "results: $out" >&2

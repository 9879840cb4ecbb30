#!/usr/bin/env bash
# bench/run.sh: the kubec benchmark suite, one command. Measures, in one run on this machine:
#   1. creates of ~3 KB pods with 1, 16 and 64 clients, kubec (POST .../pods) against etcd 3.4
#      (POST /v3/kv/put through its JSON gateway), same pods, same counts, interleaved;
#   2. LIST of 100k pods (full, and paged with limit=500), median of 3;
#   3. 1,000 watchers each receiving 1,000 events;
#   4. the server's RSS holding 100k pods;
#   5. restart time with 100k objects (SIGTERM, start, /readyz 200), median of 3;
# then writes the results between the RESULTS markers of docs/benchmarks.md and prints them.
#
# Environment: KUBEC_BIN (default <repo>/bin/kubec), OPS (creates per level, 20000),
# ETCD_OPS (default OPS), ROUNDS (alternating kubec/etcd slices per level, 4), TOTAL (pods
# for list/RSS/restart, 100000), WATCHERS (1000), EVENTS (1000), QUICK=1 (small numbers,
# results not written to docs/), PERF=1 (perf profiles of kubec per phase into
# build/bench/perf-*.txt), DOC (the file to update).
# Everything runs on loopback; servers, etcd and temp dirs are removed on exit, even on failure.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
KUBEC_BIN=${KUBEC_BIN:-$ROOT/bin/kubec}
OPS=${OPS:-20000}
TOTAL=${TOTAL:-100000}
WATCHERS=${WATCHERS:-1000}
EVENTS=${EVENTS:-1000}
DOC=${DOC:-$ROOT/docs/benchmarks.md}
if [[ ${QUICK:-0} == 1 ]]; then
    OPS=${QUICK_OPS:-1000}
    TOTAL=10000
    WATCHERS=100
    EVENTS=100
    DOC=${QUICK_DOC:-/dev/null}
fi
ETCD_OPS=${ETCD_OPS:-$OPS}
ROUNDS=${ROUNDS:-4}
LEVELS=(1 16 64)
OUT=$ROOT/build/bench
LG=$OUT/loadgen
T_START=$EPOCHREALTIME

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
    log "FATAL: $*"
    exit 1
}

[[ -x $KUBEC_BIN ]] || die "no kubec binary at $KUBEC_BIN (build it with 'make bin/kubec' or set KUBEC_BIN)"
mkdir -p "$OUT"
gcc -O2 -std=gnu11 -Wall -Wextra -Werror -pthread -o "$LG" "$ROOT/bench/loadgen.c" -lm || die "cannot build loadgen"

TMP=$(mktemp -d /tmp/kubec-bench.XXXXXX)
KUBEC_SRC=$KUBEC_BIN
KUBEC_BIN=$TMP/kubec-bin # a copy: a rebuild during the run must not change the binary between restarts
cp "$KUBEC_SRC" "$KUBEC_BIN" || { rm -rf "$TMP"; die "cannot copy $KUBEC_SRC"; }
PIDS=()
cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 50); do alive "$p" || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null
(($(ulimit -n) > WATCHERS + 100)) || die "open-file limit $(ulimit -n) too low for $WATCHERS watchers"

# ---------- helpers ----------

alive() { [[ -r /proc/$1/stat ]] && ! awk '{ s = $0; sub(/.*\) /, "", s); exit !(s ~ /^[ZX]/) }' "/proc/$1/stat" 2>/dev/null; }
kv() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
# "on-CPU-ns run-queue-wait-ns" summed over the threads of a process (/proc/PID/task/*/schedstat).
sched_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ r += $1; w += $2 } END { printf "%.0f %.0f\n", r, w }'; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
mib() { awk -v k="$1" 'BEGIN { if (k == "") print "n/a"; else printf "%.0f", k / 1024 }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "n/a") }'; }
pf() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
rm_pid() {
    local keep=() p
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

# Runs loadgen in the background and waits, so that a signal to this script interrupts the wait
# (cleanup then ends it too); sets LINE to its RESULT line. Never call it inside $(...).
LGPID=
lg() {
    "$LG" "$@" >"$TMP/lg.out" &
    LGPID=$!
    PIDS+=("$LGPID")
    wait "$LGPID"
    local rc=$?
    rm_pid "$LGPID"
    LGPID=
    LINE=$(grep '^RESULT' "$TMP/lg.out" | tail -1)
    return $rc
}

NOTES=()
note() {
    NOTES+=("$*")
    log "NOTE: $*"
}

KDIR=$TMP/kubec
KPORT=$("$LG" freeport)
KURL=http://127.0.0.1:$KPORT
KPID=
CRASHES=0

# Starts kubec on KDIR; sets KPID and READY_SECS (seconds until /readyz answered 200).
# (Runs in this shell, never in $(...): the server must be this shell's child.)
start_kubec() {
    local t0=$EPOCHREALTIME r
    # the API server and store alone (no controllers, no scheduler, no cluster DNS, whose informer
    # re-reads every pod): the comparison with etcd
    "$KUBEC_BIN" server --data-dir "$KDIR" --listen "127.0.0.1:$KPORT" --controllers= --disable-scheduler \
        --dns-listen off >>"$TMP/kubec.log" 2>&1 &
    KPID=$!
    PIDS+=("$KPID")
    lg ready --url "$KURL" --since "$t0" --pid "$KPID" --timeout 120 || {
        tail -5 "$TMP/kubec.log" >&2
        die "kubec did not become ready"
    }
    READY_SECS=$(kv "$LINE" secs)
}

# SIGTERM and wait; sets STOP_SECS and STOP_RC.
stop_kubec() {
    local t0=$EPOCHREALTIME
    kill -TERM "$KPID"
    wait "$KPID"
    STOP_RC=$?
    STOP_SECS=$(calc %.3f "$EPOCHREALTIME - $t0")
    rm_pid "$KPID"
}

# After a phase: if kubec died, say so (with its log tail) and restart it on the same data.
check_kubec() {
    alive "$KPID" && return 0
    wait "$KPID"
    local rc=$?
    rm_pid "$KPID"
    CRASHES=$((CRASHES + 1))
    note "kubec CRASHED during $1 (exit status $rc); log tail: $(tail -3 "$TMP/kubec.log" | tr '\n' ' ')"
    start_kubec
    return 1
}

PERF_PID=
perf_start() {
    [[ ${PERF:-0} == 1 ]] || return 0
    perf record -F 999 -g -p "$KPID" -o "$TMP/perf-$1.data" >/dev/null 2>&1 &
    PERF_PID=$!
    PIDS+=("$PERF_PID")
    sleep 0.3
}
perf_stop() {
    [[ -n $PERF_PID ]] || return 0
    kill -INT "$PERF_PID"
    wait "$PERF_PID"
    rm_pid "$PERF_PID"
    PERF_PID=
    {
        perf report -i "$TMP/perf-$1.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -8
        echo
        perf report -i "$TMP/perf-$1.data" --no-children --sort dso,sym --percent-limit 1 --stdio -g none 2>/dev/null |
            grep -v '^#' | grep -v '^$' | head -25
    } >"$OUT/perf-$1.txt"
    log "perf profile of kubec during $1: $OUT/perf-$1.txt"
}

# ---------- etcd ----------

if ! command -v etcd >/dev/null; then
    log "installing etcd-server"
    apt-get install -y etcd-server >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y etcd-server >/dev/null; } ||
        die "cannot install etcd-server"
fi
EPORT=$("$LG" freeport)
EPEER=$("$LG" freeport)
EURL=http://127.0.0.1:$EPORT
etcd --name bench --data-dir "$TMP/etcd" \
    --listen-client-urls "$EURL" --advertise-client-urls "$EURL" \
    --listen-peer-urls "http://127.0.0.1:$EPEER" --initial-advertise-peer-urls "http://127.0.0.1:$EPEER" \
    --initial-cluster "bench=http://127.0.0.1:$EPEER" >"$TMP/etcd.log" 2>&1 &
EPID=$!
PIDS+=("$EPID")
for _ in $(seq 200); do
    curl -sf "$EURL/health" 2>/dev/null | grep -q true && break
    alive "$EPID" || die "etcd exited: $(tail -3 "$TMP/etcd.log")"
    sleep 0.1
done
curl -sf "$EURL/health" | grep -q true || die "etcd not healthy"
ETCD_VERSION=$(etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p')

# ---------- kubec ----------

mkdir -p "$KDIR"
start_kubec
READY0=$READY_SECS
KUBEC_VERSION=$("$KUBEC_BIN" version 2>/dev/null | head -1)
log "kubec $KUBEC_VERSION on $KURL (ready in ${READY0}s), etcd $ETCD_VERSION on $EURL"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
PSI_START=$(awk '/^some/ { sub("avg10=", "", $2); print $2 "%" }' /proc/pressure/cpu 2>/dev/null)

# ---------- 1. creates: per level, ROUNDS alternating slices of kubec and etcd ----------
# (The machine is shared and noisy; alternating slices give both servers the same noise.)

declare -A R
create_run() { # target url clients ops pid prefix
    local a b line k=$1.$3
    read -r a aw < <(sched_ns "$5")
    lg create --url "$2" --target "$1" -c "$3" -n "$4" --prefix "$6" --lat-file "$TMP/lat.$k"
    line=$LINE
    read -r b bw < <(sched_ns "$5")
    [[ -n $line ]] || line="RESULT secs=0 errors=$4 ok=0"
    log "$1 c=$3: $line"
    R[$k.ok]=$((${R[$k.ok]:-0} + $(kv "$line" ok)))
    R[$k.err]=$((${R[$k.err]:-0} + $(kv "$line" errors)))
    R[$k.secs]=$(calc %.6f "${R[$k.secs]:-0} + $(kv "$line" secs)")
    R[$k.run]=$((${R[$k.run]:-0} + b - a))
    R[$k.wait]=$((${R[$k.wait]:-0} + bw - aw))
}
create_sum() { # target clients ops: pooled rate, percentiles and CPU per op
    local k=$1.$2 p
    R[$k.rate]=$(calc %.0f "${R[$k.ok]} / (${R[$k.secs]} > 0 ? ${R[$k.secs]} : 1)")
    R[$k.cpu]=$(calc %.0f "${R[$k.run]} / 1e3 / (${R[$k.ok]} > 0 ? ${R[$k.ok]} : 1)")
    R[$k.wt]=$(calc %.0f "${R[$k.wait]} / 1e3 / (${R[$k.ok]} > 0 ? ${R[$k.ok]} : 1)")
    for p in 50 99; do
        R[$k.p$p]=$(sort -g "$TMP/lat.$k" 2>/dev/null |
            awk -v p="$p" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; printf (NR ? "%.2f" : "n/a"), v[i] }')
    done
    [[ ${R[$k.err]} == 0 ]] || note "$1 with $2 clients: ${R[$k.err]} of $3 creates failed"
}
for c in "${LEVELS[@]}"; do
    for ((r = 1; r <= ROUNDS; r++)); do
        [[ $c == 16 && $r == 1 ]] && perf_start create16
        create_run kubec "$KURL" "$c" $((OPS / ROUNDS)) "$KPID" "c$c-r$r"
        [[ $c == 16 && $r == 1 ]] && perf_stop create16
        check_kubec "creates with $c clients"
        create_run etcd "$EURL" "$c" $((ETCD_OPS / ROUNDS)) "$EPID" "c$c-r$r"
    done
    create_sum kubec "$c" "$OPS"
    create_sum etcd "$c" "$ETCD_OPS"
done
ETCD_RSS=$(status_kb "$EPID" VmRSS)
kill -TERM "$EPID"
wait "$EPID" 2>/dev/null
rm_pid "$EPID"
RATIO16=$(calc %.2f "${R[kubec.16.rate]} / (${R[etcd.16.rate]} > 0 ? ${R[etcd.16.rate]} : 1)")

# ---------- 2. load to TOTAL pods, LIST ----------

TOPUP=$((TOTAL - ${#LEVELS[@]} * (OPS / ROUNDS) * ROUNDS))
if ((TOPUP > 0)); then
    lg create --url "$KURL" --target kubec -c 64 -n "$TOPUP" --prefix load
    line=$LINE
    log "load: $line"
    LOAD_RATE=$(kv "$line" rate)
    [[ $(kv "$line" errors) == 0 ]] || note "loading: $(kv "$line" errors) of $TOPUP creates failed"
    check_kubec "loading $TOTAL pods"
else
    TOTAL=$((TOTAL - TOPUP))
    TOPUP=0
fi
RSS_LOADED=$(status_kb "$KPID" VmRSS)

LIST_FULL=()
LIST_PAGED=()
list_run() { # name extra-args...; sets LINE
    lg list --url "$KURL" --path /api/v1/pods "${@:2}"
    log "list $1: $LINE"
}
perf_start list
for i in 1 2 3; do
    list_run full
    line=$LINE
    LIST_FULL+=("$(kv "$line" secs)")
    LIST_ITEMS=$(kv "$line" items)
    LIST_MB=$(calc %.0f "$(kv "$line" bytes) / 1e6")
done
perf_stop list
for i in 1 2 3; do
    list_run paged --limit 500
    line=$LINE
    LIST_PAGED+=("$(kv "$line" secs)")
    PAGED_ITEMS=$(kv "$line" items)
    PAGES=$(kv "$line" pages)
done
check_kubec "lists"
[[ ${LIST_ITEMS:-0} == "$TOTAL" ]] || note "full LIST returned ${LIST_ITEMS:-0} pods, expected $TOTAL"
[[ ${PAGED_ITEMS:-0} == "$TOTAL" ]] || note "paged LIST returned ${PAGED_ITEMS:-0} pods, expected $TOTAL"
RSS_LISTED=$(status_kb "$KPID" VmRSS)
HWM_FIRST=$(status_kb "$KPID" VmHWM)

# ---------- 3. restart with TOTAL objects ----------

READY=()
STOPS=()
for i in 1 2 3; do
    stop_kubec
    STOPS+=("$STOP_SECS")
    [[ $STOP_RC == 0 ]] || note "kubec exited with status $STOP_RC on SIGTERM (restart $i)"
    start_kubec
    READY+=("$READY_SECS")
    log "restart $i: stopped in ${STOP_SECS}s, ready in ${READY_SECS}s"
done
RSS_RESTARTED=$(status_kb "$KPID" VmRSS)
list_run after-restart
line=$LINE
[[ $(kv "$line" items) == "$TOTAL" ]] || note "after the restarts LIST returned $(kv "$line" items) pods, expected $TOTAL"
RSS_RESTART_LISTED=$(status_kb "$KPID" VmRSS)

# ---------- 4. watchers ----------

code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST -H 'Content-Type: application/json' "$KURL/api/v1/namespaces" \
    -d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"watchbench"}}')
[[ $code == 201 ]] || note "creating namespace watchbench answered $code"
read -r a aw < <(sched_ns "$KPID")
perf_start watch
lg watch --url "$KURL" --ns watchbench -w "$WATCHERS" -e "$EVENTS" -c 4 -t 2 --prefix w --timeout 300
WLINE=$LINE
perf_stop watch
read -r b bw < <(sched_ns "$KPID")
log "watch: $WLINE"
WATCH_CPU=$(calc %.1f "($b - $a) / 1e9")
WATCH_WAIT=$(calc %.1f "($bw - $aw) / 1e9")
check_kubec "the watch test"
RSS_END=$(status_kb "$KPID" VmRSS)
HWM_END=$(status_kb "$KPID" VmHWM)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
PSI_END=$(awk '/^some/ { sub("avg10=", "", $2); print $2 "%" }' /proc/pressure/cpu 2>/dev/null)
WALL=$(calc %.0f "$EPOCHREALTIME - $T_START")

# ---------- results ----------

RSS_MAX=$(printf '%s\n' "$RSS_LOADED" "$RSS_LISTED" "$RSS_RESTARTED" "$RSS_RESTART_LISTED" | sort -n | tail -1)
HWM_MAX=$(printf '%s\n' "$HWM_FIRST" "$HWM_END" | sort -n | tail -1)
LF=$(median "${LIST_FULL[@]}")
LP=$(median "${LIST_PAGED[@]}")
RD=$(median "${READY[@]}")
W_DONE=$(kv "$WLINE" complete)
W_ALL=$(kv "$WLINE" all_secs)
W_PASS=FAIL
[[ ${W_DONE:-0} == "$WATCHERS" && $(kv "$WLINE" delivered) == "$(kv "$WLINE" expected)" ]] && W_PASS=PASS
TK=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)

RES=$TMP/results.md
{
    echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC'): kubec \`${KUBEC_VERSION:-?}\` ($KUBEC_SRC, $(date -u -r "$KUBEC_SRC" '+built %Y-%m-%d %H:%M UTC')), etcd $ETCD_VERSION."
    echo "Machine: $(nproc) cores ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p')), $TK memory"
    echo "(\`free -h\`: $(free -h | awk '/^Mem:/ { print "total " $2 ", used " $3 ", available " $7 }')), kernel $(uname -r)."
    echo "Load average (1/5/15 min) at the start of the creates: $LOAD_START; at the end: $LOAD_END; CPU pressure"
    echo "(/proc/pressure/cpu some avg10: share of time some task waited for a CPU) ${PSI_START:-n/a} at the start, ${PSI_END:-n/a} at the end."
    echo "Wall time ${WALL} s. Priority of the benchmark's processes: nice $(nice)."
    echo "Pods are ~3 KB of JSON (two containers, probes, volumes, tolerations; about 3.2 KB as stored)."
    echo
    echo "| measure | target | result | |"
    echo "|---|---|---|---|"
    echo "| creates/s with 16 clients, kubec / etcd | >= 2x | ${R[kubec.16.rate]} / ${R[etcd.16.rate]} = **${RATIO16}x** | $(pf "$RATIO16 >= 2") |"
    echo "| full LIST of $TOTAL pods (\`GET /api/v1/pods\`, ${LIST_MB} MB), median of 3 | < 1 s | **${LF} s** (${LIST_FULL[*]}) | $(pf "$LF < 1") |"
    echo "| paged LIST, limit=500 ($PAGES pages), median of 3 | — | ${LP} s (${LIST_PAGED[*]}) | |"
    echo "| $WATCHERS watchers × $EVENTS events: time until all delivered | all delivered | **${W_ALL} s**, $(kv "$WLINE" delivered)/$(kv "$WLINE" expected) events | $W_PASS |"
    echo "| watch delivery latency (create sent → event read), p50 / p99 | — | $(kv "$WLINE" p50_ms) / $(kv "$WLINE" p99_ms) ms | |"
    echo "| server RSS holding $TOTAL pods (largest VmRSS sample) | < 1 GiB | **$(mib "$RSS_MAX") MiB** (peak VmHWM $(mib "$HWM_MAX") MiB) | $(pf "${RSS_MAX:-0} > 0 && $RSS_MAX < 1048576") |"
    echo "| restart with $TOTAL pods: start → /readyz 200, median of 3 | < 3 s | **${RD} s** (${READY[*]}) | $(pf "$RD < 3") |"
    echo "| crashes | none | $CRASHES | $(pf "$CRASHES == 0") |"
    echo
    echo "Creates (each level: kubec $OPS pods and etcd $ETCD_OPS puts of the same pods, in $ROUNDS alternating slices;"
    echo "throughput = ops / summed time, percentiles over all ops of the level; CPU = the server's on-CPU time per op,"
    echo "wait = its threads' time runnable but waiting for a CPU per op, from /proc/PID/task/*/schedstat):"
    echo
    echo "| clients | kubec creates/s | p50 ms | p99 ms | CPU / wait µs/op | etcd puts/s | p50 ms | p99 ms | CPU / wait µs/op | kubec/etcd |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    for c in "${LEVELS[@]}"; do
        echo "| $c | ${R[kubec.$c.rate]} | ${R[kubec.$c.p50]} | ${R[kubec.$c.p99]} | ${R[kubec.$c.cpu]} / ${R[kubec.$c.wt]} |" \
            "${R[etcd.$c.rate]} | ${R[etcd.$c.p50]} | ${R[etcd.$c.p99]} | ${R[etcd.$c.cpu]} / ${R[etcd.$c.wt]} |" \
            "$(calc %.2fx "${R[kubec.$c.rate]} / (${R[etcd.$c.rate]} > 0 ? ${R[etcd.$c.rate]} : 1)") |"
    done
    echo
    echo "Details:"
    echo
    echo "- loading to $TOTAL pods: $TOPUP more creates with 64 clients at ${LOAD_RATE:-n/a}/s."
    echo "- kubec VmRSS: $(mib "$RSS_LOADED") MiB after loading, $(mib "$RSS_LISTED") MiB after the 6 lists (VmHWM $(mib "$HWM_FIRST") MiB);" \
        "$(mib "$RSS_RESTARTED") MiB right after a restart, $(mib "$RSS_RESTART_LISTED") MiB after one list;" \
        "$(mib "$RSS_END") MiB after the watch test (VmHWM of that process $(mib "$HWM_END") MiB). etcd after its $((3 * ETCD_OPS)) puts: $(mib "$ETCD_RSS") MiB."
    echo "- restarts: SIGTERM → exit took ${STOPS[*]} s; start → ready ${READY[*]} s (first start on an empty dir: ${READY0} s)."
    echo "- watch: $(kv "$WLINE" started)/$WATCHERS watches registered in $(kv "$WLINE" setup_secs) s; the $EVENTS creates (4 clients) took" \
        "$(kv "$WLINE" write_secs) s; $(kv "$WLINE" events_per_sec) events/s delivered in total; latency max $(kv "$WLINE" max_ms) ms;" \
        "kubec ran ${WATCH_CPU} s on a CPU and waited ${WATCH_WAIT} s in the run queue."
    for n in "${NOTES[@]}"; do echo "- **$n**"; done
} >"$RES"

echo
cat "$RES"
if [[ $DOC != /dev/null ]]; then
    if [[ -f $DOC ]] && grep -q '<!-- BEGIN RESULTS' "$DOC"; then
        awk -v f="$RES" '/<!-- BEGIN RESULTS/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
                         /<!-- END RESULTS/ { skip = 0 } !skip' "$DOC" >"$DOC.tmp" && mv "$DOC.tmp" "$DOC"
    else
        { echo "# Benchmarks"; echo; echo "<!-- BEGIN RESULTS (written by bench/run.sh) -->"; cat "$RES"; echo "<!-- END RESULTS -->"; } >"$DOC"
    fi
    log "results written to $DOC"
fi
exit 0

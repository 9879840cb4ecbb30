#!/usr/bin/env bash
# bench/nodes.sh: issue 4's heartbeat benchmark. kubec server with N simulated nodes (default 5,000)
# renewing their Leases every 10 s; once every node is Ready, the server's CPU (share of one core)
# and RSS are sampled over DURATION seconds (default 120).
#   SIM=inprocess (default): the nodes run inside the server (--sim-nodes N), their cost included.
#   SIM=process: the nodes run in a separate `kubec sim --nodes N` talking HTTP to the server, as
#                real kubelets would; the server's figures are then the server alone, and the sim
#                process's own CPU and RSS are printed on a line of their own.
#   SPREAD=ticks (default): the sim rounds timer phases to 100 ticks per lease period (50 nodes
#                renew together every 100 ms); SPREAD=even: every node its own phase, one renewal
#                every 2 ms, as independent kubelets would send them (SIM=process only).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KUBEC_BIN=${KUBEC_BIN:-$ROOT/bin/kubec}
N=${N:-5000}
DURATION=${DURATION:-120}
SIM=${SIM:-inprocess}
SPREAD=${SPREAD:-ticks}
SIMFLAGS=()
[[ $SPREAD == even ]] && SIMFLAGS=(--heartbeat-ticks 0)
[[ $SPREAD == even && $SIM != process ]] && { echo "SPREAD=even needs SIM=process" >&2; exit 2; }
[[ $SIM == inprocess || $SIM == process ]] || { echo "SIM must be inprocess or process" >&2; exit 2; }
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
    [[ -n ${SIMPID:-} ]] && kill "$SIMPID" 2>/dev/null
    [[ -n ${PID:-} ]] && kill "$PID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
t0=$EPOCHREALTIME
SIMARGS=()
[[ $SIM == inprocess ]] && SIMARGS=(--sim-nodes "$N")
"$KUBEC_BIN" server --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" "${SIMARGS[@]}" --cluster-cidr 10.0.0.0/8 \
    >"$TMP/server.log" 2>&1 &
PID=$!
if [[ $SIM == process ]]; then
    for _ in $(seq 100); do [[ -s $TMP/data/kubeconfig ]] && curl -sf "http://127.0.0.1:$PORT/version" >/dev/null && break; sleep 0.1; done
    "$KUBEC_BIN" sim --kubeconfig "$TMP/data/kubeconfig" --nodes "$N" "${SIMFLAGS[@]}" >"$TMP/sim.log" 2>&1 &
    SIMPID=$!
fi
ready() { curl -s "http://127.0.0.1:$PORT/api/v1/nodes" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(1 for n in d.get("items", []) for c in n.get("status", {}).get("conditions", []) if c["type"] == "Ready" and c["status"] == "True"))' 2>/dev/null || echo 0; }
for _ in $(seq 600); do [[ $(ready) -ge $N ]] && break; sleep 1; done
t1=$EPOCHREALTIME
echo "nodes Ready ($SIM): $(ready)/$N after $(python3 -c "print('%.1f' % ($t1 - $t0))") s"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_of() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
c0=$(ticks "$PID"); s0=$EPOCHREALTIME; max_rss=0
[[ -n ${SIMPID:-} ]] && sc0=$(ticks "$SIMPID") && sim_rss=0
for _ in $(seq "$DURATION"); do
    rss=$(rss_of "$PID"); (( rss > max_rss )) && max_rss=$rss
    if [[ -n ${SIMPID:-} ]]; then r=$(rss_of "$SIMPID"); (( r > sim_rss )) && sim_rss=$r; fi
    sleep 1
done
c1=$(ticks "$PID"); s1=$EPOCHREALTIME
HZ=$(getconf CLK_TCK)
python3 -c "print('server CPU over %d s: %.1f%% of one core; max RSS %.0f MiB' % ($DURATION, 100.0 * ($c1 - $c0) / $HZ / ($s1 - $s0), $max_rss / 1024.0))"
if [[ -n ${SIMPID:-} ]]; then
    sc1=$(ticks "$SIMPID")
    python3 -c "print('kubec sim process (not counted above): CPU %.1f%% of one core; max RSS %.0f MiB' % (100.0 * ($sc1 - $sc0) / $HZ / ($s1 - $s0), $sim_rss / 1024.0))"
fi

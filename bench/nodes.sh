#!/usr/bin/env bash
# bench/nodes.sh: issue 4's heartbeat benchmark. kubec server with N simulated nodes (default 5,000)
# renewing their Leases every 10 s; once every node is Ready, the server's CPU (share of one core)
# and RSS are sampled over DURATION seconds (default 120).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KUBEC_BIN=${KUBEC_BIN:-$ROOT/bin/kubec}
N=${N:-5000}
DURATION=${DURATION:-120}
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() { [[ -n ${PID:-} ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
t0=$EPOCHREALTIME
"$KUBEC_BIN" server --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" --sim-nodes "$N" --cluster-cidr 10.0.0.0/8 \
    >"$TMP/server.log" 2>&1 &
PID=$!
ready() { curl -s "http://127.0.0.1:$PORT/api/v1/nodes" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(1 for n in d.get("items", []) for c in n.get("status", {}).get("conditions", []) if c["type"] == "Ready" and c["status"] == "True"))' 2>/dev/null || echo 0; }
for _ in $(seq 600); do [[ $(ready) -ge $N ]] && break; sleep 1; done
t1=$EPOCHREALTIME
echo "nodes Ready: $(ready)/$N after $(python3 -c "print('%.1f' % ($t1 - $t0))") s"
ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
c0=$(ticks); s0=$EPOCHREALTIME; max_rss=0
for _ in $(seq "$DURATION"); do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status"); (( rss > max_rss )) && max_rss=$rss
    sleep 1
done
c1=$(ticks); s1=$EPOCHREALTIME
python3 -c "print('server CPU over %d s: %.1f%% of one core; max RSS %.0f MiB' % ($DURATION, 100.0 * ($c1 - $c0) / $(getconf CLK_TCK) / ($s1 - $s0), $max_rss / 1024.0))"

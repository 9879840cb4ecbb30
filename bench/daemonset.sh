#!/usr/bin/env bash
# bench/daemonset.sh: issue 7's benchmark. A DaemonSet over NODES (5,000) simulated nodes
# (`kubec server --sim-nodes 5000`), from `kubectl apply` to status.numberReady = NODES; then an image
# change with maxUnavailable 10% rolled to completion (`kubectl rollout status`). Prints seconds and the
# server's peak RSS and CPU time. Goals: 15 s and 60 s.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KUBEC_BIN=${KUBEC_BIN:-$ROOT/bin/kubec}
NODES=${NODES:-5000}
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() { [[ -n ${PID:-} ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
"$KUBEC_BIN" server --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" --sim-nodes "$NODES" --cluster-cidr 10.0.0.0/8 \
    >"$TMP/server.log" 2>&1 &
PID=$!
K=(kubectl --kubeconfig "$TMP/data/kubeconfig" --cache-dir "$TMP/cache")
for _ in $(seq 600); do [[ -f $TMP/data/kubeconfig ]] && [[ $("${K[@]}" get nodes --no-headers 2>/dev/null | grep -c ' Ready') -ge $NODES ]] && break; sleep 0.2; done
cat >"$TMP/ds.yaml" <<YAML
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 10%}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: agent
        image: busybox:1.36
        resources: {requests: {cpu: 10m, memory: 16Mi}}
YAML
cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / t}' "/proc/$PID/stat"; }
cpu0=$(cpu)
t0=$EPOCHREALTIME
"${K[@]}" apply -f "$TMP/ds.yaml" >/dev/null
until [[ $("${K[@]}" get ds agent -o jsonpath='{.status.numberReady}') == "$NODES" ]]; do
    python3 -c "import sys; sys.exit(0 if $EPOCHREALTIME - $t0 < 300 else 1)" || { echo "not ready after 300 s" >&2; break; }
    sleep 0.2
done
t1=$EPOCHREALTIME
cpu1=$(cpu)
"${K[@]}" set image ds/agent agent=busybox:1.37 >/dev/null
"${K[@]}" rollout status ds/agent --timeout=300s >/dev/null
t2=$EPOCHREALTIME
python3 - "$t0" "$t1" "$t2" "$NODES" "$cpu0" "$cpu1" "$(cpu)" "$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")" <<'PY'
import sys
t0, t1, t2 = map(float, sys.argv[1:4]); n = int(sys.argv[4]); c0, c1, c2 = map(float, sys.argv[5:8])
hwm = int(sys.argv[8]) / 1024
print("| measure | goal | result | |")
print("|---|---|---|---|")
print("| apply to numberReady = %d | < 15 s | **%.1f s** (server CPU %.1f s) | %s |" % (n, t1 - t0, c1 - c0, "PASS" if t1 - t0 < 15 else "FAIL"))
print("| image rollout, maxUnavailable 10%%, to completion | < 60 s | **%.1f s** (server CPU %.1f s) | %s |" % (t2 - t1, c2 - c1, "PASS" if t2 - t1 < 60 else "FAIL"))
print("| server peak RSS | | **%.0f MiB** | |" % hwm)
PY

#!/usr/bin/env bash
# bench/deployment.sh: issue 5's benchmark. A Deployment of REPLICAS (10,000) pods on NODES (1,000)
# simulated nodes, from `kubectl apply` to availableReplicas = REPLICAS; then an image change rolled
# to completion (25%/25%, `kubectl rollout status`). Prints seconds, pods/s, and the server's peak
# RSS and CPU time. Goals: 30 s, 60 s, peak RSS under 1 GiB.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KUBEC_BIN=${KUBEC_BIN:-$ROOT/bin/kubec}
REPLICAS=${REPLICAS:-10000}
NODES=${NODES:-1000}
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() { [[ -n ${PID:-} ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
"$KUBEC_BIN" server --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" --sim-nodes "$NODES" --cluster-cidr 10.0.0.0/8 \
    >"$TMP/server.log" 2>&1 &
PID=$!
K=(kubectl --kubeconfig "$TMP/data/kubeconfig" --cache-dir "$TMP/cache")
for _ in $(seq 200); do [[ -f $TMP/data/kubeconfig ]] && [[ $("${K[@]}" get nodes --no-headers 2>/dev/null | grep -c ' Ready') -ge $NODES ]] && break; sleep 0.2; done
cat >"$TMP/big.yaml" <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: big}
spec:
  replicas: $REPLICAS
  selector: {matchLabels: {app: big}}
  template:
    metadata: {labels: {app: big}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        resources: {requests: {cpu: 10m, memory: 16Mi}}
YAML
cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / t}' "/proc/$PID/stat"; }
t0=$EPOCHREALTIME
"${K[@]}" apply -f "$TMP/big.yaml" >/dev/null
until [[ $("${K[@]}" get deploy big -o jsonpath='{.status.availableReplicas}') == "$REPLICAS" ]]; do
    python3 -c "import sys; sys.exit(0 if $EPOCHREALTIME - $t0 < 300 else 1)" || { echo "not available after 300 s" >&2; break; }
    sleep 0.5
done
t1=$EPOCHREALTIME
cpu1=$(cpu)
"${K[@]}" set image deploy/big web=nginx:1.27 >/dev/null
"${K[@]}" rollout status deploy/big --timeout=300s >/dev/null
t2=$EPOCHREALTIME
python3 - "$t0" "$t1" "$t2" "$REPLICAS" "$cpu1" "$(cpu)" "$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")" <<'PY'
import sys
t0, t1, t2 = map(float, sys.argv[1:4]); n = int(sys.argv[4]); c1, c2 = float(sys.argv[5]), float(sys.argv[6])
hwm = int(sys.argv[7]) / 1024
print("| measure | goal | result | |")
print("|---|---|---|---|")
print("| apply to %d available | < 30 s | **%.1f s** (%.0f pods/s; server CPU %.1f s) | %s |" % (n, t1 - t0, n / (t1 - t0), c1, "PASS" if t1 - t0 < 30 else "FAIL"))
print("| image rollout 25%%/25%% to completion | < 60 s | **%.1f s** (server CPU %.1f s) | %s |" % (t2 - t1, c2 - c1, "PASS" if t2 - t1 < 60 else "FAIL"))
print("| server peak RSS | < 1 GiB | **%.0f MiB** | %s |" % (hwm, "PASS" if hwm < 1024 else "FAIL"))
PY

#!/usr/bin/env bash
# bench/storage.sh: issue 6's storage benchmark. PODS (500) pods, each with its own claim of the
# default local-path class (WaitForFirstConsumer), on NODES (100) simulated nodes: seconds from
# `kubectl apply` of the claims and pods to every claim Bound and every pod Running. The path
# measured: scheduler VolumeBinding (selected-node) -> local-path provisioner (PV) -> PV binder
# (bind) -> scheduler binds the pod -> simulated kubelet runs it. Prints a Markdown table row.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KUBEC_BIN=${KUBEC_BIN:-$ROOT/bin/kubec}
PODS=${PODS:-500}
NODES=${NODES:-100}
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() { [[ -n ${PID:-} ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
"$KUBEC_BIN" server --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" --sim-nodes "$NODES" >"$TMP/server.log" 2>&1 &
PID=$!
K=(kubectl --kubeconfig "$TMP/data/kubeconfig" --cache-dir "$TMP/cache")
for _ in $(seq 200); do [[ -f $TMP/data/kubeconfig ]] && [[ $("${K[@]}" get nodes --no-headers 2>/dev/null | grep -c ' Ready') -ge $NODES ]] && break; sleep 0.2; done
python3 - "$PODS" >"$TMP/all.yaml" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print("""---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data-%d}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: app-%d}
spec:
  containers: [{name: app, image: nginx, volumeMounts: [{name: data, mountPath: /data}]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data-%d}}]""" % (i, i, i))
PY
count() { "${K[@]}" get "$1" --no-headers 2>/dev/null | grep -c " $2 "; }
cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / t}' "/proc/$PID/stat"; }
t0=$EPOCHREALTIME
"${K[@]}" apply -f "$TMP/all.yaml" >/dev/null
t1=$EPOCHREALTIME
until [[ $(count pvc Bound) -ge $PODS && $(count pods Running) -ge $PODS ]]; do
    python3 -c "import sys; sys.exit(0 if $EPOCHREALTIME - $t0 < 300 else 1)" || { echo "not done after 300 s" >&2; break; }
    sleep 0.2
done
t2=$EPOCHREALTIME
nodes=$("${K[@]}" get pv -o jsonpath='{range .items[*]}{.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}{"\n"}{end}' | sort -u | wc -l)
python3 - "$t0" "$t1" "$t2" "$PODS" "$NODES" "$(cpu)" "$nodes" "$(count pv Bound)" <<'PY'
import sys
t0, t1, t2 = map(float, sys.argv[1:4]); n, nodes, cpu, used, pvs = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
print("| %d pods + %d local-path claims on %d sim nodes: apply to all Bound + Running | **%.1f s** (apply itself %.1f s; %.0f pods/s) | server CPU %.1f s | %d PVs Bound on %d nodes |"
      % (n, n, nodes, t2 - t0, t1 - t0, n / (t2 - t0), cpu, pvs, used))
PY

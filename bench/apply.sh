#!/usr/bin/env bash
# bench/apply.sh: issue 3's apply benchmark. A 200-object manifest of mixed kinds is applied
# with the real kubectl (client-side apply), then re-applied unchanged; kubectl -v=6 logs the
# time of every request ("... 200 OK in 3 milliseconds"), so the server's share of the run is
# the sum of request times over the command's wall time. Median of ROUNDS runs.
# Environment: KUBEC_BIN (default <repo>/bin/kubec), ROUNDS (5), N (200), DOC (docs/benchmarks.md).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KUBEC_BIN=${KUBEC_BIN:-$ROOT/bin/kubec}
ROUNDS=${ROUNDS:-5}
N=${N:-200}
DOC=${DOC:-$ROOT/docs/benchmarks.md}
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() { [[ -n ${PID:-} ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
"$KUBEC_BIN" server --data-dir "$TMP/data" --listen "127.0.0.1:$PORT" --controllers=-replicaset,-deployment,-garbagecollector \
    --disable-scheduler >"$TMP/server.log" 2>&1 &
PID=$!
for _ in $(seq 100); do [[ -f $TMP/data/kubeconfig ]] && break; sleep 0.05; done
K=(kubectl --kubeconfig "$TMP/data/kubeconfig" --cache-dir "$TMP/cache")

python3 - "$N" >"$TMP/manifest.yaml" <<'PY'
import sys
n = int(sys.argv[1])
kinds = ["cm", "secret", "svc", "deploy", "sa"]
docs = []
for i in range(n):
    k = kinds[i % len(kinds)]
    if k == "cm":
        docs.append(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i}, labels: {{app: bench}}}}\ndata: {{a: '1', b: two}}\n")
    elif k == "secret":
        docs.append(f"apiVersion: v1\nkind: Secret\nmetadata: {{name: s-{i}}}\nstringData: {{password: x{i}}}\n")
    elif k == "svc":
        docs.append(f"apiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}}}\nspec:\n  selector: {{app: a{i}}}\n  ports: [{{name: http, port: 80, targetPort: 8080}}]\n")
    elif k == "sa":
        docs.append(f"apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: sa-{i}}}\n")
    else:
        docs.append(f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: d-{i}, labels: {{app: d{i}}}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: d{i}}}}}
  template:
    metadata: {{labels: {{app: d{i}}}}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports: [{{containerPort: 80}}]
        env: [{{name: A, value: "1"}}]
        resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}
""")
print("---\n".join(docs))
PY

# One timed apply: wall seconds and the sum of request times from -v=6.
timed_apply() {
    local t0 t1
    t0=$EPOCHREALTIME
    "${K[@]}" apply -f "$TMP/manifest.yaml" -v=6 >"$TMP/out" 2>"$TMP/v6" || { echo "apply failed" >&2; tail "$TMP/v6" >&2; exit 1; }
    t1=$EPOCHREALTIME
    local server_ms
    server_ms=$(grep -oE '(OK|Created|Not Found) in [0-9]+ milliseconds' "$TMP/v6" | awk '{s+=$(NF-1)} END {print s+0}')
    local reqs
    reqs=$(grep -cE ' in [0-9]+ milliseconds' "$TMP/v6")
    python3 -c "print('%.3f %.3f %d' % ($t1-$t0, $server_ms/1000.0, $reqs))"
}

first=(); again=()
for r in $(seq "$ROUNDS"); do
    "${K[@]}" delete -f "$TMP/manifest.yaml" --wait=false >/dev/null 2>&1
    sleep 0.5
    first+=("$(timed_apply)")
    grep -c created "$TMP/out" >/dev/null
    again+=("$(timed_apply)")
    [[ $(grep -c unchanged "$TMP/out") -eq $N ]] || echo "warning: re-apply did not print $N unchanged" >&2
done
report=$(python3 - "${first[@]}" -- "${again[@]}" <<'PY'
import sys, statistics
args = sys.argv[1:]
i = args.index("--")
def summary(rows):
    rows = [tuple(map(float, r.split())) for r in rows]
    wall = statistics.median(r[0] for r in rows)
    srv = statistics.median(r[1] for r in rows)
    share = statistics.median(r[1] / r[0] for r in rows)
    return wall, srv, share, int(rows[0][2])
f = summary(args[:i]); a = summary(args[i + 1:])
print("| first apply (%d requests) | %.2f s | %.3f s | **%.1f%%** | %s |" % (f[3], f[0], f[1], 100 * f[2], "PASS" if f[2] < 0.10 else "FAIL"))
print("| re-apply unchanged (%d requests) | %.2f s | %.3f s | **%.1f%%** | %s |" % (a[3], a[0], a[1], 100 * a[2], "PASS" if a[2] < 0.10 else "FAIL"))
PY
)
echo "| run | kubectl wall time (median) | server time (sum of request times) | server share (target < 10%) | |"
echo "|---|---|---|---|---|"
echo "$report"

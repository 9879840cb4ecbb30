#!/usr/bin/env bash
# bench/apply.sh: issue 3's apply benchmark. A 200-object manifest of mixed kinds is applied
# with the real kubectl (client-side apply), then re-applied unchanged; kubectl -v=7 logs every
# request when sent and when answered (microsecond timestamps), so the server's share of the run
# is the sum of those waits over the command's wall time. Median of ROUNDS runs.
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
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
timed_apply() {
    local t0 t1 c0 c1
    c0=$(cpu_ticks)
    t0=$EPOCHREALTIME
    "${K[@]}" apply -f "$TMP/manifest.yaml" -v=7 >"$TMP/out" 2>"$TMP/v6" || { echo "apply failed" >&2; tail "$TMP/v6" >&2; exit 1; }
    t1=$EPOCHREALTIME
    c1=$(cpu_ticks)
    local server_ms
    # -v=7 logs each request when it is sent and its response when it arrives, with microsecond
    # timestamps: the sum of those gaps is the time kubectl waited for the server
    server_ms=$(python3 - "$TMP/v6" <<'PY'
import re, sys
ts = lambda l: (lambda h, m, s: int(h) * 3600 + int(m) * 60 + float(s))(*re.match(r"I\d{4} (\d+):(\d+):([\d.]+)", l).groups())
start, total = None, 0.0
for line in open(sys.argv[1]):
    if re.search(r"round_trippers\.go:\d+\] (GET|POST|PUT|PATCH|DELETE) http", line):
        start = ts(line)
    elif "Response Status:" in line and start is not None:
        total += ts(line) - start
        start = None
print("%.3f" % (total * 1000))
PY
)
    local reqs
    reqs=$(grep -cE ' in [0-9]+ milliseconds' "$TMP/v6")
    python3 -c "print('%.3f %.3f %d %.3f' % ($t1-$t0, $server_ms/1000.0, $reqs, ($c1-$c0)/$(getconf CLK_TCK)))"
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
    cpu = sum(r[3] for r in rows) / sum(r[0] for r in rows)
    return wall, srv, share, int(rows[0][2]), cpu
f = summary(args[:i]); a = summary(args[i + 1:])
for label, x in (("first apply", f), ("re-apply unchanged", a)):
    share = x[2]
    print("| %s (%d requests) | %.2f s | %.3f s | %.1f%% | **%.1f%%** | %s |" % (
        label, x[3], x[0], x[1], 100 * x[4], 100 * share, "PASS" if share < 0.10 else "FAIL"))
PY
)
echo "| run | kubectl wall time (median) | time kubectl waited for answers (median) | server CPU time / wall | server share: waited / wall (target < 10%) | |"
echo "|---|---|---|---|---|---|"
echo "$report"

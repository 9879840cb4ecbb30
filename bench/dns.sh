#!/usr/bin/env bash
# bench/dns.sh: issue 8's DNS benchmark. A zone of 1,000 services (500 ClusterIP with a named port,
# 500 headless with one EndpointSlice of 20 endpoints: 10,000 pod names) is loaded into
# `kubec server`; NSD serves the same names from a generated zone file. dnsperf runs the same query
# mix (service A, pod-hostname A, SRV, PTR, NXDOMAIN) against both, interleaved, ROUNDS times:
# queries/s at full speed, then p50/p99 latency at a fixed rate (dnsperf -v). Last, DNS
# propagation: a slice update (PUT) until the new name answers, N_PROP times.
# Installs dnsperf and nsd with apt-get when missing (they are not test dependencies).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KUBEC_BIN=${KUBEC_BIN:-$ROOT/bin/kubec}
SECS=${SECS:-10}
ROUNDS=${ROUNDS:-2}
RATE=${RATE:-20000}
N_PROP=${N_PROP:-200}
THREADS=${THREADS:-1}
if ! command -v dnsperf >/dev/null || ! command -v nsd >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q dnsperf nsd >/dev/null
fi
[[ -x $KUBEC_BIN ]] || make -C "$ROOT" bin/kubec >/dev/null
TMP=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
API=$(free_port); KDNS=$(free_port); NDNS=$(free_port)
cleanup() { for p in ${KPID:-} ${NPID:-}; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

"$KUBEC_BIN" server --data-dir "$TMP/data" --listen "127.0.0.1:$API" --dns-listen "127.0.0.1:$KDNS" \
    >"$TMP/server.log" 2>&1 &
KPID=$!
for _ in $(seq 100); do [[ -f $TMP/data/kubeconfig ]] && break; sleep 0.1; done
python3 "$ROOT/bench/dns_load.py" load "http://127.0.0.1:$API" "$TMP" || exit 1

mkdir -p "$TMP/nsd"
cat >"$TMP/nsd/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1
    port: $NDNS
    server-count: 1
    username: ""
    zonesdir: "$TMP"
    pidfile: "$TMP/nsd/nsd.pid"
    xfrdfile: "$TMP/nsd/xfrd.state"
    zonelistfile: "$TMP/nsd/zone.list"
    database: ""
    verbosity: 0
    rrl-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: cluster.local
    zonefile: cluster.local.zone
zone:
    name: 10.in-addr.arpa
    zonefile: 10.in-addr.arpa.zone
EOF
nsd -c "$TMP/nsd/nsd.conf" -d >"$TMP/nsd.log" 2>&1 &
NPID=$!
# both answer the first name of the query file before measuring
first=$(head -1 "$TMP/queries.txt")
for port in "$KDNS" "$NDNS"; do
    for _ in $(seq 100); do
        dig @127.0.0.1 -p "$port" +time=1 +tries=1 ${first% *} ${first#* } | grep -q "status: NOERROR" && break
        sleep 0.1
    done
done
for port in "$KDNS" "$NDNS"; do
    dig @127.0.0.1 -p "$port" +short svc1.bench1.svc.cluster.local | sort | md5sum
done | uniq | wc -l | grep -q '^1$' || echo "WARNING: kubec and NSD answer differently" >&2

# CPU ticks (user + system) of the given processes, all threads; comm may hold spaces ("nsd: server 1")
cpu() { local t=0 f; for pid in "$@"; do for f in /proc/$pid/task/*/stat; do
        t=$((t + $(sed 's/.*) //' "$f" | awk '{print $12 + $13}'))); done; done; echo "$t"; }
# queries/s, lost, and server CPU per answered query (µs): robust to the machine's other load
qps() { local port=$1; shift; local c0 c1 out; c0=$(cpu "$@")
        out=$(dnsperf -s 127.0.0.1 -p "$port" -d "$TMP/queries.txt" -l "$SECS" -c 4 -q 200 -T "$THREADS" 2>&1)
        c1=$(cpu "$@")
        awk -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" '/Queries per second/ {q=$4} /Queries lost/ {l=$3}
            /Queries completed/ {n=$3} END {printf "%.0f %s %.2f", q, l, n ? c * 1e6 / hz / n : 0}' <<<"$out"; }
lat() { dnsperf -s 127.0.0.1 -p "$1" -d "$TMP/queries.txt" -l 5 -c 4 -Q "$RATE" -v >"$TMP/v.txt" 2>&1
        python3 "$ROOT/bench/dns_load.py" p99 "$TMP/v.txt"; }
echo "load: $(uptime | sed 's/.*load average/load average/')"
NSD_PIDS=$(pgrep -f "nsd -c $TMP/nsd/nsd.conf" | tr '\n' ' ')
echo "| run | server | queries/s | lost | server CPU per query | p50 at $RATE q/s | p99 at $RATE q/s |"
echo "|---|---|---|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
    for s in kubec nsd; do
        if [[ $s == nsd ]]; then port=$NDNS; pids=$NSD_PIDS; else port=$KDNS; pids=$KPID; fi
        # shellcheck disable=SC2086
        read -r q lost us <<<"$(qps "$port" $pids)"
        read -r p50 p99 n <<<"$(lat "$port")"
        echo "| $r | $s | $q | $lost | $us µs | ${p50} ms | ${p99} ms |"
    done
done
python3 "$ROOT/bench/dns_load.py" propagate "http://127.0.0.1:$API" "$KDNS" "$N_PROP"
echo "kubec server: RSS $(awk '/VmRSS/ {print $2/1024 " MiB"}' /proc/$KPID/status); load: $(uptime | sed 's/.*load average/load average/')"

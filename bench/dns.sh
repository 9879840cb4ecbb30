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

qps() { dnsperf -s 127.0.0.1 -p "$1" -d "$TMP/queries.txt" -l "$SECS" -c 4 -q 200 -T "$THREADS" 2>&1 |
        awk '/Queries per second/ {q=$4} /Queries lost/ {l=$3} END {printf "%.0f %s", q, l}'; }
lat() { dnsperf -s 127.0.0.1 -p "$1" -d "$TMP/queries.txt" -l 5 -c 4 -Q "$RATE" -v >"$TMP/v.txt" 2>&1
        python3 "$ROOT/bench/dns_load.py" p99 "$TMP/v.txt"; }
echo "load: $(uptime | sed 's/.*load average/load average/')"
echo "| run | server | queries/s | lost | p50 at $RATE q/s | p99 at $RATE q/s |"
echo "|---|---|---|---|---|---|"
for r in $(seq "$ROUNDS"); do
    for s in kubec nsd; do
        port=$KDNS; [[ $s == nsd ]] && port=$NDNS
        read -r q lost <<<"$(qps "$port")"
        read -r p50 p99 n <<<"$(lat "$port")"
        echo "| $r | $s | $q | $lost | ${p50} ms | ${p99} ms |"
    done
done
python3 "$ROOT/bench/dns_load.py" propagate "http://127.0.0.1:$API" "$KDNS" "$N_PROP"
echo "kubec server: RSS $(awk '/VmRSS/ {print $2/1024 " MiB"}' /proc/$KPID/status); load: $(uptime | sed 's/.*load average/load average/')"

#!/usr/bin/env bash
# bench/endpoints.sh: issue 8's endpoint benchmark (bench/endpoints.py does the work): EndpointSlice
# propagation (pod turns Ready -> its address ready in the slices, p99 goal < 100 ms) and the time to
# build slices and Endpoints for SERVICES (1,000) Services x PER_SVC (10) pods. Knobs: NODES, PODS,
# GAPS_MS, SERVICES, PER_SVC; KUBEC_BIN picks the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
uptime
exec /usr/bin/python3 bench/endpoints.py

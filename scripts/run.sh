#!/bin/sh
# Starts a one-node kubec cluster with its data in ./data (make run).
set -e
cd "$(dirname "$0")/.."
DATA=${DATA:-$PWD/data}
LISTEN=${LISTEN:-127.0.0.1:6443}
mkdir -p "$DATA"
echo "kubec: starting; data in $DATA"
echo "use:   kubectl --kubeconfig $DATA/kubeconfig get namespaces"
exec bin/kubec server --data-dir "$DATA" --listen "$LISTEN" --sim-nodes "${SIM_NODES:-3}"

#!/bin/sh
# Installs the Debian packages kubec needs to build, test and run, when any is missing.
set -e
PKGS="gcc make pkg-config python3 libh2o-evloop-dev libjansson-dev libyaml-dev libsqlite3-dev libssl-dev zlib1g-dev
      libcurl4-openssl-dev libcriterion-dev clang dnsutils libclang-rt-14-dev python3-kubernetes python3-pytest python3-yaml"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing
command -v kubectl >/dev/null || echo "note: kubectl is not installed; the e2e tests need it" >&2
